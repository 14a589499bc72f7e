"""manage.py import_calls FILE.csv [--skip-invalid]: exit 0 imported, 2 rejected or bad input.

Here in billing (not in calls) because it asks billing which months are closed: calls sits
below billing in the layers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mypage.audit.services import Actor
from mypage.billing.selectors import closed_months
from mypage.calls.imports import calls_import


class Command(BaseCommand):
    help = "通話明細 (GATE CALL / GATE CALL050 / UCOM光電話) のCSVを取り込む (docs/imports.md)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--skip-invalid", action="store_true", help="不正な行を除いて取り込む")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        with path.open("rb") as data:  # streamed: a million-row file is never in memory
            result = calls_import(
                data=data,
                file_name=path.name,
                actor=Actor.system("manage.py import_calls"),
                skip_invalid=options["skip_invalid"],
                closed_months=closed_months(),
            )
        (self.stdout if result.ok else self.stderr).write(result.report())
        if not result.ok:
            sys.exit(2)
