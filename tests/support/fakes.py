"""Fakes of the outside systems' ports (DESIGN rule 14), for tests."""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field

from mypage.core.outside import in_change_transaction
from mypage.notifications.adapters import short_error
from mypage.notifications.ports import OutgoingMail
from mypage.payments.ports import (
    AuthenticationRequired,
    CardFacts,
    ChargeOutcome,
    GatewayRefused,
    GatewayUnavailable,
    StoredCard,
    TokenInfo,
)


@dataclass(frozen=True)
class SentMail:
    mail: OutgoingMail
    in_transaction: bool  # was a transaction of ours open when it was sent (it must not be)?


@dataclass
class MemoryMailTransport:
    """A fake mail server in memory (a ``ports.MailTransport``): keeps what it was given and
    whether a transaction of ours was open at that moment; the first ``fail_times`` attempts fail
    (with ``error``); with ``hold``, ``send`` sets ``entered`` and waits for ``hold`` (to catch a
    worker mid-send)."""

    fail_times: int = 0
    error: Exception = field(default_factory=lambda: smtplib.SMTPServerDisconnected("fake: unavailable"))
    hold: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    sent: list[SentMail] = field(default_factory=list)
    attempts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, mail: OutgoingMail) -> None:
        in_transaction = in_change_transaction()
        with self._lock:
            self.attempts += 1
            failing = self.fail_times > 0
            if failing:
                self.fail_times -= 1
        self.entered.set()
        if self.hold is not None:
            self.hold.wait()
        if failing:
            raise self.error
        with self._lock:
            self.sent.append(SentMail(mail=mail, in_transaction=in_transaction))

    def describe_error(self, exc: BaseException) -> str:
        return short_error(exc)

    def message_ids(self) -> list[str]:
        with self._lock:
            return [s.mail.message_id for s in self.sent]


# The adapter the ``fake_mail`` fixture installs (MAIL_TRANSPORT = "tests.support.fakes.current").
current = MemoryMailTransport()


# --- the payment gateway (mypage.payments.ports.PaymentGateway) ---------------------------------


@dataclass
class FakeCard:
    """A card the fake gateway knows: its facts (never a number) and how it behaves."""

    facts: CardFacts
    # "ok", "challenge" (3-D Secure), "stolen" / "expired" (declined at registration),
    # "insufficient" (declined at a charge), "error" (the gateway fails on it)
    behaviour: str = "ok"


@dataclass
class MemoryGateway:
    """A fake payment gateway in memory: tokens made by tests (``token_for``), cards stored by
    ``card_register`` with an idempotency store, charges kept with their keys. ``down`` makes every
    call raise ``GatewayUnavailable``; ``fail_charges`` fails that many charge calls first.
    Records whether a transaction of ours was open at any call (it must never be)."""

    down: bool = False
    fail_charges: int = 0
    tokens: dict[str, tuple[FakeCard, str, str]] = field(default_factory=dict)  # token → card, ref, status
    authentications: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → token, status
    cards: dict[str, FakeCard] = field(default_factory=dict)
    replies: dict[str, object] = field(default_factory=dict)  # idempotency key → first answer
    charges: list[tuple[str, str, int, bool]] = field(default_factory=list)  # key, card, amount, ok
    calls_in_transaction: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}_{self._seq:06d}"

    def _enter(self) -> None:
        if in_change_transaction():
            self.calls_in_transaction += 1
        if self.down:
            raise GatewayUnavailable("fake gateway down")

    def script_url(self) -> str:
        return "http://gateway.invalid/v1/token.js"

    def origin(self) -> str:
        return "http://gateway.invalid"

    def publishable_key(self) -> str:
        return "pk_fake"

    def token_for(
        self,
        *,
        reference: str,
        holder_name: str = "TARO YAMADA",
        behaviour: str = "ok",
        brand: str = "VISA",
        last4: str = "1111",
        exp_month: int = 12,
        exp_year: int = 2030,
        status: str = "unused",
    ) -> str:
        """A token as the gateway's script would have made it on a page with ``reference``."""
        with self._lock:
            token = self._next("tok")
            card = FakeCard(CardFacts(brand, last4, exp_month, exp_year, holder_name), behaviour)
            self.tokens[token] = (card, reference, status)
        return token

    def token_inspect(self, token: str) -> TokenInfo:
        self._enter()
        with self._lock:
            if token not in self.tokens:
                raise GatewayRefused("token_not_found")
            card, reference, status = self.tokens[token]
        return TokenInfo(token=token, status=status, reference=reference, card=card.facts)

    def challenge_done(self, authentication: str, *, succeeded: bool) -> None:
        """The customer finished the 3-D Secure challenge (right code, or failed/cancelled)."""
        with self._lock:
            token, _status = self.authentications[authentication]
            self.authentications[authentication] = (token, "succeeded" if succeeded else "failed")

    def card_register(
        self,
        *,
        token: str,
        reference: str,
        return_url: str,
        authentication: str | None,
        idempotency_key: str,
    ) -> StoredCard | AuthenticationRequired:
        self._enter()
        with self._lock:
            if idempotency_key in self.replies:
                reply = self.replies[idempotency_key]
                if isinstance(reply, GatewayRefused):
                    raise reply
                assert isinstance(reply, StoredCard | AuthenticationRequired)
                return reply
            if token not in self.tokens:
                raise GatewayRefused("token_not_found")
            card, ref, status = self.tokens[token]
            if ref != reference:
                raise GatewayRefused("token_reference_mismatch")
            if status != "unused":
                raise GatewayRefused("token_used" if status == "used" else "token_expired")
            if card.behaviour in ("stolen", "expired"):
                refused = GatewayRefused(
                    "card_declined",
                    decline_code="stolen_card" if card.behaviour == "stolen" else "expired_card",
                )
                self.replies[idempotency_key] = refused
                raise refused
            if card.behaviour == "error":
                raise GatewayUnavailable("fake: processing_error")
            if card.behaviour == "challenge":
                if authentication is None:
                    auth = self._next("auth")
                    self.authentications[auth] = (token, "pending")
                    answer: StoredCard | AuthenticationRequired = AuthenticationRequired(
                        auth, f"http://gateway.invalid/3ds/{auth}"
                    )
                    self.replies[idempotency_key] = answer
                    return answer
                owner, auth_status = self.authentications.get(authentication, ("", ""))
                if owner != token:
                    raise GatewayRefused("authentication_mismatch")
                if auth_status == "pending":
                    raise GatewayRefused("authentication_pending")
                if auth_status != "succeeded":
                    refused = GatewayRefused("authentication_failed")
                    self.replies[idempotency_key] = refused
                    raise refused
            reference_id = self._next("card")
            self.cards[reference_id] = card
            self.tokens[token] = (card, ref, "used")
            stored = StoredCard(reference=reference_id, card=card.facts)
            self.replies[idempotency_key] = stored
            return stored

    def charge(
        self, *, card_reference: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> ChargeOutcome:
        self._enter()
        with self._lock:
            if self.fail_charges > 0:
                self.fail_charges -= 1
                raise GatewayUnavailable("fake: gateway_unavailable")
            key = f"charge:{idempotency_key}"
            if key in self.replies:
                reply = self.replies[key]
                assert isinstance(reply, ChargeOutcome)
                return reply
            card = self.cards.get(card_reference)
            if card is None:
                raise GatewayRefused("card_not_found")
            if card.behaviour == "error":
                raise GatewayUnavailable("fake: processing_error")
            ok = card.behaviour != "insufficient"
            outcome = ChargeOutcome(
                charge_id=self._next("ch"),
                succeeded=ok,
                decline_code="" if ok else "insufficient_funds",
                message="" if ok else "残高不足のため決済できませんでした。",
            )
            self.charges.append((idempotency_key, card_reference, amount, ok))
            self.replies[key] = outcome
            return outcome

    def successes(self, idempotency_key: str) -> int:
        return sum(1 for key, _card, _amount, ok in self.charges if key == idempotency_key and ok)
