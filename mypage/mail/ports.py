"""The port of the mail server's storage: what the portal asks of it when a mailbox ends (its
stored mail is deleted). The adapter in use is ``settings.MAILBOX_STORE``: ``adapters.MaildirStore``
(the real one: the mail server's disk on this host) and, for tests,
``tests/support/fakes.MemoryMailboxStore``. Reached only through the ``MailboxPurge`` job."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class MailboxStore(Protocol):
    def purge(self, login: str, mailbox_key: str) -> None:
        """Delete the stored mail of the mailbox ``mailbox_key`` of ``login``; nothing when it is
        already gone (a purge may be tried again after a crash)."""
        ...


def mailbox_store() -> MailboxStore:
    """The adapter named by ``MAILBOX_STORE``: a dotted path to a class (instantiated) or an instance."""
    target = import_string(settings.MAILBOX_STORE)
    store: MailboxStore = target() if isinstance(target, type) else target
    return store
