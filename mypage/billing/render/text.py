"""A statement as a plain-text table in Japanese, columns aligned for a terminal
(``manage.py statement``): East Asian wide characters count as two columns."""

from __future__ import annotations

import unicodedata

from django.utils import translation

from mypage.billing.models import LineKind
from mypage.billing.selectors import StatementView
from mypage.core.formatting import datetime_long, month_long, yen


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def statement_text(view: StatementView) -> str:
    with translation.override("ja"):
        return _table(view)


def _table(view: StatementView) -> str:
    status = "確定" if view.status == "issued" else "プレビュー (未確定)"
    rows = [
        (
            line.product_name + (" 事務手数料" if line.kind == LineKind.REAPPLICATION_FEE else ""),
            line.account_id or "-",
            yen(line.amount),
        )
        for line in view.lines
    ]
    header = ("商品名", "アカウントID", "金額")
    totals = [
        ("小計", yen(view.subtotal)),
        *([("うち免税 (国際通話料)", yen(view.exempt_subtotal))] if view.exempt_subtotal else []),
        (f"消費税 ({view.tax_percent}%)", yen(view.tax)),
        ("合計", yen(view.total)),
    ]
    name_w = max([_width(r[0]) for r in [header, *rows, *totals]])
    acct_w = max([_width(r[1]) for r in [header, *rows]])
    amount_w = max(_width(x) for x in [header[2], *(r[2] for r in rows), *(t[1] for t in totals)])
    rule = "-" * (name_w + acct_w + amount_w + 4)

    def row(name: str, acct: str, amount: str) -> str:
        return f"{_pad(name, name_w)}  {_pad(acct, acct_w)}  {' ' * (amount_w - _width(amount))}{amount}"

    out = [
        f"請求明細 {month_long(view.month)}分 【{status}】",
        f"お客様番号: {view.customer_number}",
    ]
    if view.issued_at is not None:
        out.append(f"発行日時: {datetime_long(view.issued_at)}")
    out += [rule, row(*header), rule]
    out += [row(*r) for r in rows] if rows else ["(ご請求はありません)"]
    out.append(rule)
    out += [row(label, "", amount) for label, amount in totals]
    out.append("金額は税別、消費税は請求明細ごとに1円未満切り捨て。")
    return "\n".join(out)
