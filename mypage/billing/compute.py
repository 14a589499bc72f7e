"""The computing half of the month close, without Django: subscription rows → engine histories →
the engine's statements → rows in PostgreSQL's COPY text format.

It imports nothing but the billing engine, so it runs as well in worker processes that never touch
the database (``worker_init`` / ``worker_chunk``, spawned by ``services.month_close``): the engine
is pure, so the close can spread it over the machine's cores while one process reads and writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import threading
import time
from collections.abc import Iterable, Sequence

from mypage.billing_engine import (
    Catalogue,
    Charge,
    Month,
    ProductRule,
    Statement,
    Subscription,
    statement_for_month,
)

# A subscription as the close reads it: (id, contract id, product id, account ID or None,
# applied on, cancelled on or None).
Row = tuple[int, int, int, str | None, dt.date, dt.date | None]
# A contract of a chunk: (id, customer number).
ContractRef = tuple[int, str]
# The calls a chunk bills, by contract id: the engine's usage charges (one per service and month).
Usage = dict[int, list[Charge]]
# A contract's statement: (contract id, customer number, the engine's statement).
Issued = tuple[int, str, Statement]


class EngineRefusedError(ValueError):
    """The engine refused one contract's history (bad data). One plain message, so that it
    crosses from a worker process to the parent (pickled) as it is."""


def histories(rows: Iterable[Row], code_by_pk: dict[int, str]) -> dict[int, list[Subscription]]:
    """The engine's histories by contract id."""
    found: dict[int, list[Subscription]] = {}
    for pk, contract_id, product_id, account_id, applied_on, cancelled_on in rows:
        sub = Subscription(pk, code_by_pk[product_id], account_id, applied_on, cancelled_on)
        history = found.get(contract_id)
        if history is None:
            found[contract_id] = [sub]
        else:
            history.append(sub)
    return found


def statements(
    contracts: Sequence[ContractRef],
    by_contract: dict[int, list[Subscription]],
    month: Month,
    catalogue: Catalogue,
    empty: Statement,
    usage: Usage | None = None,
) -> list[Issued]:
    """The engine's statement of each contract, with its calls (``usage``); ``empty`` (the engine's
    statement of no history) for a contract with nothing that can charge: 0 / 0 / 0."""
    issued: list[Issued] = []
    append = issued.append
    usage = usage or {}
    for contract_id, customer_number in contracts:
        history = by_contract.get(contract_id)
        calls = usage.get(contract_id, ())
        if history is None and not calls:
            append((contract_id, customer_number, empty))
            continue
        try:
            statement = statement_for_month(history or (), month, catalogue, usage=calls)
            append((contract_id, customer_number, statement))
        except (ValueError, TypeError, LookupError) as exc:
            raise EngineRefusedError(f"contract {customer_number}: {exc}") from exc
    return issued


NULL = r"\N"  # COPY's text format


@functools.lru_cache(maxsize=65_536)
def copy_text(value: str | None) -> str:
    """A value in COPY's text format (NULL is ``\\N``; backslash, tab and line breaks escaped)."""
    if value is None:
        return NULL
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def render_copy(
    issued: Sequence[Issued], statement_ids: Sequence[int], first_day: str, issued_at: str
) -> tuple[bytes, bytes, int]:
    """The statements' and the lines' rows in COPY text format (the column orders of
    ``services.STATEMENT_COLUMNS`` / ``LINE_COLUMNS``), and the number of lines. A customer
    number is 14 digits (a check constraint), so it needs no escaping."""
    tail = f"\t{issued_at}\n"
    text = copy_text
    statement_rows = []
    line_rows = []
    for statement_id, (contract_id, customer_number, s) in zip(statement_ids, issued, strict=True):
        statement_rows.append(
            f"{statement_id}\t{contract_id}\t{first_day}\t{customer_number}\t"
            f"{s.subtotal}\t{s.tax}\t{s.total}\t{s.tax_percent}{tail}"
        )
        for number, c in enumerate(s.lines, start=1):
            line_rows.append(
                f"{statement_id}\t{number}\t{text(c.product_code)}\t{text(c.product_name)}\t"
                f"{text(c.account_id)}\t{c.amount}\t{c.kind.value}\t"
                f"{NULL if c.subscription_id is None else c.subscription_id}\n"
            )
    return "".join(statement_rows).encode(), "".join(line_rows).encode(), len(line_rows)


# --- in a worker process ---------------------------------------------------------------------------

_worker: dict[str, object] = {}


def worker_init(
    products: Sequence[ProductRule], code_by_pk: dict[int, str], month: Month, parent_pid: int
) -> None:
    """Once per worker process. Signals are the parent's business: Ctrl-C or a service manager's
    SIGTERM reach every process of the group, and the parent stops the close cleanly. A parent
    killed outright (SIGKILL) cannot stop its workers: they notice it themselves and exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    catalogue = Catalogue.of(*products)
    _worker.update(
        catalogue=catalogue,
        code_by_pk=code_by_pk,
        month=month,
        empty=statement_for_month((), month, catalogue),
    )


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


def worker_chunk(
    contracts: Sequence[ContractRef],
    rows: Sequence[Row],
    usage: Usage,
    statement_ids: Sequence[int],
    first_day: str,
    issued_at: str,
) -> tuple[bytes, bytes, int]:
    """One chunk, in a worker: its COPY rows (statements, lines) and its number of lines."""
    catalogue = _worker["catalogue"]
    code_by_pk = _worker["code_by_pk"]
    month = _worker["month"]
    empty = _worker["empty"]
    assert isinstance(catalogue, Catalogue) and isinstance(code_by_pk, dict)
    assert isinstance(month, Month) and isinstance(empty, Statement)
    issued = statements(contracts, histories(rows, code_by_pk), month, catalogue, empty, usage)
    return render_copy(issued, statement_ids, first_day, issued_at)
