"""``manage.py statement CUSTOMER_NUMBER YYYY-MM [--json]``: one contract's statement for a month,
issued or (for a month not closed yet) a preview (SPEC §7)."""

from __future__ import annotations

import json
import unicodedata
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mypage.billing.selectors import NoStatementError, StatementView, statement_view
from mypage.billing_engine import Month
from mypage.contracts.models import Contract
from mypage.core.clock import TOKYO

BAD_INPUT = 2


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
        try:
            month = Month.parse(options["month"])
        except ValueError:
            raise CommandError(
                f"not a month: {options['month']!r} (expected YYYY-MM, e.g. 2026-10)", returncode=BAD_INPUT
            ) from None
        contract = Contract.objects.filter(customer_number=number).first()
        if contract is None:
            raise CommandError(f"no contract with the customer number {number!r}", returncode=BAD_INPUT)
        try:
            view = statement_view(contract=contract, month=month)
        except NoStatementError as exc:
            raise CommandError(f"no statement: {exc}", returncode=BAD_INPUT) from None
        if options["json"]:
            self.stdout.write(json.dumps(view.as_json(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(render_table(view))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _yen(amount: int) -> str:
    return f"{amount:,}円"


def render_table(view: StatementView) -> str:
    """The statement as a plain-text table in Japanese, columns aligned for a terminal."""
    status = "確定" if view.status == "issued" else "プレビュー (未確定)"
    rows = [
        (
            line.product_name + (" 事務手数料" if line.kind == "reapplication_fee" else ""),
            line.account_id or "-",
            _yen(line.amount),
        )
        for line in view.lines
    ]
    header = ("商品名", "アカウントID", "金額")
    totals = [
        ("小計", _yen(view.subtotal)),
        (f"消費税 ({view.tax_percent}%)", _yen(view.tax)),
        ("合計", _yen(view.total)),
    ]
    name_w = max([_width(r[0]) for r in [header, *rows, *totals]])
    acct_w = max([_width(r[1]) for r in [header, *rows]])
    amount_w = max(_width(x) for x in [header[2], *(r[2] for r in rows), *(t[1] for t in totals)])
    rule = "-" * (name_w + acct_w + amount_w + 4)

    def row(name: str, acct: str, amount: str) -> str:
        return f"{_pad(name, name_w)}  {_pad(acct, acct_w)}  {' ' * (amount_w - _width(amount))}{amount}"

    out = [
        f"請求明細 {view.month.year}年{view.month.month}月分 【{status}】",
        f"お客様番号: {view.customer_number}",
    ]
    if view.issued_at is not None:
        out.append(f"発行日時: {view.issued_at.astimezone(TOKYO):%Y-%m-%d %H:%M}")
    out += [rule, row(*header), rule]
    out += [row(*r) for r in rows] if rows else ["(ご請求はありません)"]
    out.append(rule)
    out += [row(label, "", amount) for label, amount in totals]
    out.append("金額は税別、消費税は請求明細ごとに1円未満切り捨て。")
    return "\n".join(out)
