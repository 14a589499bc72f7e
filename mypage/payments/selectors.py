"""Reads of F-PAY: the card in use, the one waiting for staff."""

from __future__ import annotations

from mypage.contracts.models import Contract

from .models import CardStatus, PaymentMethod


def card_in_use(contract: Contract) -> PaymentMethod | None:
    """現在のお支払い方法: the contract's card in use, or None."""
    return PaymentMethod.objects.filter(contract=contract, status=CardStatus.ACTIVE).first()


def card_pending(contract: Contract) -> PaymentMethod | None:
    """A card registered with a name that did not match the holder's, waiting for staff (確認中)."""
    return PaymentMethod.objects.filter(contract=contract, status=CardStatus.PENDING).first()


def card_pending_exists(contract: Contract) -> bool:
    return PaymentMethod.objects.filter(contract=contract, status=CardStatus.PENDING).exists()
