"""What a statement document (the PDF, the CSV) shows beyond the statement itself: who issues it
(the brand's 適格請求書発行事業者, ``core.Brand``) and to whom (the contract holder, 様)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mypage.billing.selectors import StatementView
from mypage.contracts.models import Contract


@dataclass(frozen=True)
class StatementDocument:
    view: StatementView
    recipient: str  # the contract holder's name (様 is added by the renderer)
    brand_name: str
    issuer_name: str
    registration_number: str
    issuer_address: str
    support_phone: str

    @property
    def issued(self) -> bool:
        return self.view.status == "issued"

    @property
    def issued_on(self) -> dt.date | None:
        return self.view.issued_at.date() if self.view.issued_at else None

    @property
    def file_stem(self) -> str:
        """``seikyu-90000000000000-2026-11`` (a preview: ``…-kakuteimae``)."""
        stem = f"seikyu-{self.view.customer_number}-{self.view.month}"
        return stem if self.issued else f"{stem}-kakuteimae"


def statement_document(*, contract: Contract, view: StatementView) -> StatementDocument:
    brand = contract.brand
    return StatementDocument(
        view=view,
        recipient=contract.holder_name,
        brand_name=brand.name,
        issuer_name=brand.invoice_issuer_name,
        registration_number=brand.invoice_registration_number,
        issuer_address=brand.invoice_issuer_address,
        support_phone=brand.support_phone,
    )
