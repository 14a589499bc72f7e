"""The port to the mail server (DESIGN rule 14): what the outbox needs from it, and which adapter
is in use (``settings.MAIL_TRANSPORT``). Adapters: ``adapters.SmtpMailTransport`` (the real one,
through Django's MAILERS) and, for tests, ``tests/support/fakes.MemoryMailTransport``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class OutgoingMail:
    """One message as the outbox recorded it; the same on every attempt (its Message-ID too)."""

    from_header: str
    to_address: str
    subject: str
    body: str
    message_id: str


class MailTransport(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Hand ``mail`` to the mail server; return once it accepted it, raise on any failure
        (the job is retried). Called by the jobs worker with no transaction open."""
        ...

    def describe_error(self, exc: BaseException) -> str:
        """The error as staff see it: never the mail's text."""
        ...


def mail_transport() -> MailTransport:
    """The adapter named by ``MAIL_TRANSPORT``: a dotted path to a class (instantiated) or to an
    instance."""
    target = import_string(settings.MAIL_TRANSPORT)
    transport: MailTransport = target() if isinstance(target, type) else target
    return transport
