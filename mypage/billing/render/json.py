"""A statement as JSON: exactly the keys of SPEC §7 (``manage.py statement --json``)."""

from __future__ import annotations

from typing import Any

from mypage.billing.selectors import StatementView


def statement_json(view: StatementView) -> dict[str, Any]:
    return {
        "customer_number": view.customer_number,
        "month": str(view.month),
        "lines": [
            {
                "product_code": line.product_code,
                "product_name": line.product_name,
                "account_id": line.account_id,
                "amount": line.amount,
            }
            for line in view.lines
        ],
        "subtotal": view.subtotal,
        "tax": view.tax,
        "total": view.total,
        "status": view.status,
    }
