"""Racing threads for the concurrency tests (real concurrent transactions: PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection


def race(n: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(0)`` … ``work(n - 1)`` in ``n`` threads released together by a barrier, and
    return what each returned or raised, in that order: the outcome of each racer is what the
    test checks, so an exception is a result, not a failure. Each thread closes its own database
    connection when done."""
    results: list[object] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:
            results[i] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def other_session() -> Any:
    """A second PostgreSQL session on the test database, outside Django and its test transaction
    (autocommit): to hold an advisory lock as another process would."""
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"],
        dbname=s["NAME"],
        autocommit=True,
    )
