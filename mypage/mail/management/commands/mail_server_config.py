"""``manage.py mail_server_config [--dir DIR]``: render the mail server's configuration (Dovecot,
and Postfix's lookup tables) for the database this portal uses; prints the dovecot.conf path."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mypage.mail import server


class Command(BaseCommand):
    help = "Render the Dovecot and Postfix configuration over the portal's database (docs/mail-server.md)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dir", type=Path, help="where to write conf/, run/ and mail/ (MAIL_SERVER_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            conf = server.render(options["dir"])
        except (ValueError, KeyError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(conf))
