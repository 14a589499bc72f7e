"""A real Dovecot beside the tests (issue 13 point 6): its configuration rendered by the portal's own
``mypage.mail.server`` over the test database, a private directory under /var/tmp (Dovecot's
unprivileged processes must reach it), free ports on 127.0.0.1, and an SMTP sink (aiosmtpd) as
its submission host for forwarded mail and auto-replies. IMAP and LMTP are spoken with the standard
library's ``imaplib`` and ``smtplib.LMTP``."""

from __future__ import annotations

import imaplib
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mypage.mail import server
from tests.support.smtp import SmtpServer, free_port

DOVECOT = "/usr/sbin/dovecot"
START_TIMEOUT = 20.0


class ImapRefused(Exception):
    """An IMAP LOGIN answered NO: ``code`` is the response code (AUTHENTICATIONFAILED, UNAVAILABLE…)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code


@dataclass
class Mailbox:
    subjects: list[str]
    bodies: list[bytes]


class MailClient:
    """IMAP and LMTP against a mail server on 127.0.0.1."""

    def __init__(self, imap_port: int, lmtp_port: int) -> None:
        self.imap_port = imap_port
        self.lmtp_port = lmtp_port

    # --- IMAP ------------------------------------------------------------------------------

    def login(self, user: str, password: str) -> imaplib.IMAP4:
        """An IMAP session logged in as ``user``; ``ImapRefused`` with the server's code if not."""
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        try:
            # AUTHENTICATE PLAIN (RFC 4616), as mail apps do: any user name and password, quoted or not.
            credentials = f"\0{user}\0{password}".encode()
            client.authenticate("PLAIN", lambda _challenge: credentials)
        except imaplib.IMAP4.error as error:
            client.shutdown()
            text = str(error)
            code = text.split("[", 1)[1].split("]", 1)[0] if "[" in text else "NO"
            raise ImapRefused(code, text) from None
        return client

    def refusal(self, user: str, password: str) -> str:
        """The response code of a refused login, or "" when it was accepted."""
        try:
            self.login(user, password).logout()
        except ImapRefused as refused:
            return refused.code
        return ""

    def mailbox(self, user: str, password: str) -> Mailbox:
        """The subjects and raw messages in ``user``'s INBOX, oldest first."""
        client = self.login(user, password)
        try:
            status, data = client.select("INBOX", readonly=True)
            assert status == "OK", data
            count = int(data[0] or 0)
            subjects, bodies = [], []
            for number in range(1, count + 1):
                status, parts = client.fetch(str(number), "(RFC822)")
                assert status == "OK", parts
                raw = parts[0][1]
                bodies.append(raw)
                message = _parse(raw)
                subjects.append(str(message["Subject"]))
            return Mailbox(subjects, bodies)
        finally:
            client.logout()

    # --- LMTP ------------------------------------------------------------------------------

    def deliver(
        self,
        to: str,
        subject: str,
        *,
        sender: str = "sender@example.org",
        body: str = "本文です。\n",
        size: int = 0,
        timeout: float = 20,
    ) -> dict[str, tuple[int, bytes]]:
        """Deliver one message through LMTP; the refused recipients ({} when all accepted)."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = f"<{time.monotonic_ns()}@example.org>"
        message.set_content(body + ("x" * 76 + "\n") * (size // 77))
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=timeout) as lmtp:
            try:
                return lmtp.send_message(message, from_addr=sender, to_addrs=[to])
            except smtplib.SMTPRecipientsRefused as refused:  # at RCPT TO
                return refused.recipients
            except smtplib.SMTPDataError as refused:  # after DATA (e.g. over quota with this message)
                return {to: (refused.smtp_code, refused.smtp_error)}


class Dovecot(MailClient):
    """One Dovecot process over the test database; ``start``/``stop`` as often as a test likes."""

    def __init__(self) -> None:
        if not Path(DOVECOT).exists():
            raise RuntimeError(f"{DOVECOT} is not installed: scripts/test installs it (dovecot-core …)")
        super().__init__(free_port(), free_port())
        self.root = Path(tempfile.mkdtemp(prefix="mypage-dovecot-", dir="/var/tmp"))
        self.sink = SmtpServer().start()
        self.log = self.root / "dovecot.log"
        self.conf: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # --- the process ---------------------------------------------------------------------

    def render(self) -> Path:
        self.conf = server.render(
            self.root,
            imap_port=self.imap_port,
            lmtp_port=self.lmtp_port,
            submission_host=f"127.0.0.1:{self.sink.port}",
            auth_failure_delay="0",
            auth_penalty=False,
        )
        return self.conf

    def start(self) -> Dovecot:
        conf = self.conf or self.render()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)], stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.process.returncode}:\n{self.log_text()[-3000:]}")
            if answers(self.imap_port) and answers(self.lmtp_port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen within {START_TIMEOUT}s:\n{self.log_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        end = time.monotonic() + 10
        while time.monotonic() < end and (answers(self.imap_port) or answers(self.lmtp_port)):
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        self.sink.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def forget_mail(self) -> None:
        """Empty every mailbox on disk (between tests: the database is emptied, the disk is not)."""
        for home in self.mail_root.iterdir():
            shutil.rmtree(home, ignore_errors=True)

    @property
    def mail_root(self) -> Path:
        return self.root / "mail"


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.settimeout(2)
            return bool(sock.recv(64))
    except OSError:
        return False


def _parse(raw: bytes) -> EmailMessage:
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]
