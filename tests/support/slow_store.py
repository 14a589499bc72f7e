"""A MaildirStore that stops between its two steps (the rename, then the deletion) for long enough
to be killed there: for the test of a purge killed mid-way (tests/system/test_purge_process.py)."""

from __future__ import annotations

import os
import time

from mypage.mail.adapters import MaildirStore


class PausingMaildirStore(MaildirStore):
    def purge(self, login: str, mailbox_key: str) -> None:
        home = self.root / login / mailbox_key
        if home.exists():
            os.replace(home, home.with_name(f".purging-{mailbox_key}"))
            time.sleep(float(os.environ.get("PURGE_PAUSE_SECONDS", "60")))  # killed here
        super().purge(login, mailbox_key)
