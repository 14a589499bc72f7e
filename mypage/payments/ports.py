"""The port of the payment gateway (F-PAY, issue 14): what the portal asks of it, and nothing
that could carry a card number. The browser sends the card to the gateway's own origin (its
script, ``script_url``) and the portal receives a one-time token; from then on the portal speaks
to the gateway server to server, with its secret key, about tokens, stored cards and charges.

The adapter in use is ``settings.PAYMENT_GATEWAY["ADAPTER"]``: ``adapters.SandboxGateway`` (the
project's own sandbox, ``gateway/``, and the shape of a real Japanese gateway's token API) and,
for tests, ``tests/support/fakes.MemoryGateway``. ``docs/payments.md`` says what another adapter
must implement. Every call may raise ``GatewayUnavailable`` (down, slow, a 5xx): it changed
nothing and may be tried again with the same idempotency key; ``GatewayRefused`` is the gateway's
considered "no" (a bad or used token, a declined card), with its code and a message for the
customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class GatewayUnavailable(Exception):
    """The gateway could not be reached or did not answer in time (or answered 5xx)."""


class GatewayRefused(Exception):
    """The gateway refused the request: ``code`` (e.g. ``token_used``, ``card_declined``),
    ``decline_code`` for a declined card, and the gateway's message for the customer."""

    def __init__(self, code: str, message: str = "", *, decline_code: str = "", field: str = "") -> None:
        super().__init__(f"{code}: {decline_code or message}")
        self.code = code
        self.message = message
        self.decline_code = decline_code
        self.field = field


@dataclass(frozen=True)
class CardFacts:
    """What the portal may know of a card: never its number."""

    brand: str  # VISA, MASTERCARD, JCB, AMEX, DINERS
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str  # as on the card: "GIVEN FAMILY"


@dataclass(frozen=True)
class TokenInfo:
    token: str
    status: str  # unused, used, expired
    reference: str  # what the portal's page gave the script: binds the token to one flow
    card: CardFacts


@dataclass(frozen=True)
class StoredCard:
    reference: str  # the gateway's card reference (card_…), what charges name
    card: CardFacts


@dataclass(frozen=True)
class AuthenticationRequired:
    """EMV 3-D Secure: the browser must go to ``url`` (the issuer's challenge, simulated by the
    sandbox) and comes back to the return URL with ``authentication=<authentication_id>``."""

    authentication_id: str
    url: str


@dataclass(frozen=True)
class ChargeOutcome:
    charge_id: str
    succeeded: bool
    decline_code: str = ""
    message: str = ""


class PaymentGateway(Protocol):
    def script_url(self) -> str:
        """The gateway's token script, loaded by the card change page from the gateway's origin."""
        ...

    def origin(self) -> str:
        """The origin the browser talks to (the page's CSP allows it, and only it)."""
        ...

    def publishable_key(self) -> str:
        """The key the page gives the script (it can only make tokens)."""
        ...

    def token_inspect(self, token: str) -> TokenInfo:
        """What ``token`` stands for, without using it. ``GatewayRefused("token_not_found")``."""
        ...

    def card_register(
        self,
        *,
        token: str,
        reference: str,
        return_url: str,
        authentication: str | None,
        idempotency_key: str,
    ) -> StoredCard | AuthenticationRequired:
        """Turn a token into a stored card. The first call for a challenge card answers
        ``AuthenticationRequired``; after the challenge, the call again with ``authentication``
        stores the card if the authentication succeeded. The same ``idempotency_key`` never stores
        a second card."""
        ...

    def charge(
        self, *, card_reference: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> ChargeOutcome:
        """A merchant-initiated charge of ``amount`` yen; one per ``idempotency_key`` whatever
        happens (a repeat answers the first outcome). A decline is an outcome, not an exception."""
        ...


def payment_gateway() -> PaymentGateway:
    """The adapter named by ``PAYMENT_GATEWAY["ADAPTER"]``: a dotted path to a class (made with
    the settings' dict) or to an instance."""
    config: dict[str, Any] = settings.PAYMENT_GATEWAY
    target = import_string(str(config["ADAPTER"]))
    gateway: PaymentGateway = target(config) if isinstance(target, type) else target
    return gateway
