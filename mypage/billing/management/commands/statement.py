"""``manage.py statement CUSTOMER_NUMBER YYYY-MM [--json | --pdf FILE | --csv FILE]``: one contract's
statement for a month, issued or (for a month not closed yet) a preview (SPEC §7, issue 15): a
table, JSON, the PDF (適格請求書; a preview is marked 確定前) or the CSV (UTF-8 with BOM). ``-`` as
FILE writes to standard output."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mypage.billing.management.arguments import BAD_INPUT, month_argument
from mypage.billing.render.csv import statement_csv
from mypage.billing.render.document import statement_document
from mypage.billing.render.json import statement_json
from mypage.billing.render.pdf import FontMissingError, statement_pdf
from mypage.billing.render.text import statement_text
from mypage.billing.selectors import NoStatementError, statement_view
from mypage.contracts.models import Contract


class Command(BaseCommand):
    help = (
        "Print one contract's statement (請求明細) for a month: the issued one, or a preview for a "
        "month not closed yet. --json prints the keys of SPEC §7."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("customer_number", help="お客様番号 (14 digits).")
        parser.add_argument("month", help="YYYY-MM")
        formats = parser.add_mutually_exclusive_group()
        formats.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        formats.add_argument("--pdf", metavar="FILE", help="Write the statement PDF to FILE (- = stdout).")
        formats.add_argument("--csv", metavar="FILE", help="Write the statement CSV to FILE (- = stdout).")

    def handle(self, *args: Any, **options: Any) -> None:
        number = options["customer_number"].strip()
        month = month_argument(options["month"])
        contract = Contract.objects.filter(customer_number=number).first()
        if contract is None:
            raise CommandError(f"no contract with the customer number {number!r}", returncode=BAD_INPUT)
        try:
            view = statement_view(contract=contract, month=month)
        except NoStatementError as exc:
            raise CommandError(f"no statement: {exc}", returncode=BAD_INPUT) from None
        if options["pdf"] or options["csv"]:
            document = statement_document(contract=contract, view=view)
            try:
                data = statement_pdf(document) if options["pdf"] else statement_csv(document)
            except FontMissingError as exc:
                raise CommandError(str(exc), returncode=BAD_INPUT) from None
            self._write(options["pdf"] or options["csv"], data)
        elif options["json"]:
            self.stdout.write(json.dumps(statement_json(view), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(statement_text(view))

    def _write(self, target: str, data: bytes) -> None:
        if target == "-":
            self.stdout.flush()
            out = getattr(self.stdout, "_out", None)
            buffer = getattr(out, "buffer", None)
            if buffer is None:
                raise CommandError("standard output takes no bytes here: give a FILE", returncode=BAD_INPUT)
            buffer.write(data)
            buffer.flush()
            return
        path = Path(target)
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"cannot write {target}: {exc.strerror}", returncode=BAD_INPUT) from None
        self.stderr.write(f"{path}: {len(data):,} bytes")
