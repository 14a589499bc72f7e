"""A statement as CSV (issue 15 point 2): UTF-8 with a BOM, so that Excel in Japan opens it; one
row per line, then 小計 (per rate: the statement's, and 免税 when it has international calls),
消費税 and 合計. A cell that Excel would take as a formula (it begins
with ``= + - @``, a tab or a carriage return) is written with a leading apostrophe, so nothing is
executed when staff or a customer open the file."""

from __future__ import annotations

import csv
import io

from mypage.billing.models import LineKind

from .document import StatementDocument

HEADER = (
    "お客様番号",
    "対象月",
    "区分",
    "商品名",
    "アカウントID",
    "税率",
    "金額(税別)",
    "消費税",
    "金額(税込)",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXEMPT = "免税"  # the 税率 of a tax-exempt line (国際通話料)


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\x00", "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def _kind_label(kind: str) -> str:
    labels = {choice.value: str(choice.label) for choice in LineKind}
    return labels.get(kind, kind)


def statement_csv(document: StatementDocument) -> bytes:
    view = document.view
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    month = f"{view.month.year:04d}-{view.month.month:02d}"
    rate = f"{view.tax_percent}%"
    for line in view.lines:
        writer.writerow(
            [
                cell(view.customer_number),
                month,
                cell(_kind_label(line.kind)),
                cell(line.product_name),
                cell(line.account_id or ""),
                EXEMPT if line.tax_exempt else rate,
                line.amount,
                "",
                "",
            ]
        )
    status = "" if document.issued else "(確定前)"
    number = cell(view.customer_number)
    writer.writerow([number, month, "小計" + status, "", "", rate, view.taxable_subtotal, "", ""])
    if view.exempt_subtotal:
        writer.writerow([number, month, "小計" + status, "", "", EXEMPT, view.exempt_subtotal, "", ""])
    writer.writerow([number, month, "消費税" + status, "", "", rate, "", view.tax, ""])
    writer.writerow([cell(view.customer_number), month, "合計" + status, "", "", "", "", "", view.total])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
