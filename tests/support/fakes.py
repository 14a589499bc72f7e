"""Fakes of the outside systems' ports (DESIGN rule 14), for tests."""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field

from mypage.core.outside import in_change_transaction
from mypage.notifications.adapters import short_error
from mypage.notifications.ports import OutgoingMail


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
