"""The real adapter of ``ports.MailboxStore``: the mail server's Maildirs on this host, under
``<MAIL_SERVER_DIR>/mail/<account ID>/<mailbox key>`` (the home ``mailserver_userdb`` gives
Dovecot). A new mailbox of the same ID has a new key, so a purge never touches it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from django.conf import settings

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


class MaildirStore:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else Path(str(settings.MAIL_SERVER["DIR"])) / "mail"

    def purge(self, login: str, mailbox_key: str) -> None:
        if not (_NAME.match(login) and _NAME.match(mailbox_key)):  # never a path outside the root
            raise ValueError(f"not a mailbox: {login!r}/{mailbox_key!r}")
        home = self.root / login / mailbox_key
        trash = self.root / login / f".purging-{mailbox_key}"
        if home.exists():
            # One rename first: the mailbox is gone at once, and a purge killed during the
            # deletion below is finished by the next attempt.
            os.replace(home, trash)
        shutil.rmtree(trash, ignore_errors=False) if trash.exists() else None
