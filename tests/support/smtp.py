"""A real SMTP server for the outbox tests (aiosmtpd on 127.0.0.1), and settings pointing at it."""

from __future__ import annotations

import asyncio
import copy
import email
import email.policy
import logging
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from unittest import mock

from aiosmtpd.controller import Controller
from django.conf import settings

from tests.support.ports import free_port

TEMPLATE_DIR = Path(__file__).parent / "outbox_templates"
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command


def smtp_mailers(port: int) -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


def templates_with_test_kind() -> list[dict[str, object]]:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[1]["DIRS"] = [str(TEMPLATE_DIR), *templates[1]["DIRS"]]
    return templates


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps every message it was given (before answering 250)."""

    delay: float = 0.0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def wait_for(self, count: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.messages) >= count:
                    return True
            time.sleep(0.05)
        return False


class SmtpServer:
    """Start and stop an SMTP server on a fixed port (so a test can "bring the server back")."""

    def __init__(self, port: int | None = None, delay: float = 0.0) -> None:
        self.port = port or free_port()
        self.recorder = Recorder(delay=delay)
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.recorder.messages


def run_outbox_worker() -> None:
    """Run every due job now, in this process (one ``jobs_worker --batch`` run).

    For tests of features that send mail (with pytest's locmem MAILERS the mails then appear in
    ``django.core.mail.outbox``). The worker runs inside the test's transaction, where Django
    cannot recycle the connection: on PostgreSQL ``close_old_connections`` would close it under
    the test, so it is switched off here. The real process is tested in
    tests/system/test_worker_process.py.
    """
    from mypage.core.worker import JobsWorker

    with (
        mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None),
        mock.patch("mypage.core.worker.close_old_connections", lambda: None),
    ):
        JobsWorker(batch=True, interval=0.1).run()
