"""The real adapter of the mail port (``ports.MailTransport``); the fake for tests is
``tests/support/fakes.MemoryMailTransport``."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage, mailers

from mypage.core.outside import outside_call

from .ports import OutgoingMail


def short_error(exc: BaseException) -> str:
    """Exception class and SMTP reply: enough for staff, never the mail's text."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        detail = f"{exc.smtp_code} {reply}"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(
            f"{code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        )
    else:
        detail = str(exc)
    return " ".join(f"{name}: {detail}".split())[:300]


class SmtpMailTransport:
    """The real adapter: Django's MAILERS backend (SMTP in production, the console in
    development, locmem under pytest)."""

    def send(self, mail: OutgoingMail) -> None:
        outside_call("SMTP")
        message = EmailMessage(
            subject=mail.subject,
            body=mail.body,
            from_email=mail.from_header,
            to=[mail.to_address],
            headers={"Message-ID": mail.message_id},
        )
        if mailers.default.send_messages([message]) != 1:
            raise smtplib.SMTPException("the mail backend did not send the message")

    def describe_error(self, exc: BaseException) -> str:
        return short_error(exc)
