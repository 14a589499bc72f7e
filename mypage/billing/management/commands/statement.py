"""``manage.py statement CUSTOMER_NUMBER YYYY-MM [--json]``: one contract's statement for a month,
issued or (for a month not closed yet) a preview (SPEC §7)."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mypage.billing.management.arguments import BAD_INPUT, month_argument
from mypage.billing.render.json import statement_json
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
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

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
        if options["json"]:
            self.stdout.write(json.dumps(statement_json(view), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(statement_text(view))
