"""The monthly collection run as an operator would (issue 14 point 6), against the sandbox gateway
running as its own service: ``manage.py charge_month`` twice at once, then a real ``jobs_worker``
killed while the gateway is making a charge (the gateway says yes after the worker is gone), then
``charge_month`` and a worker again. Exactly one successful charge per statement — counted from the
gateway's own records — and every statement 決済済み, except the declined card's, recorded once."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from django.db import connection

from mypage.billing.charges import StatementCharge
from tests.support.payments import sandbox_gateway
from tests.support.subprocess import PROCESS_TIMEOUT, Project, stop

STATEMENTS = 12
SEED = """
import datetime as dt, json
from mypage.billing.models import MonthClose, Statement
from mypage.payments.models import PaymentMethod
from mypage.testing.factories import make_contract
cards = json.loads({cards!r})
issued = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
MonthClose.objects.create(month=dt.date(2026, 11, 1), started_at=issued, finished_at=issued)
for i, card in enumerate(cards):
    contract = make_contract(f"7160000000{{i:04d}}", "spaaqs_multi", contact_email=f"c{{i}}@example.com")
    PaymentMethod.objects.create(
        contract=contract, status="active", gateway_card=card, brand="VISA", last4="1111",
        exp_month=12, exp_year=2030, holder_given="TARO", holder_family="SHIKEN", name_matched=True,
        flow_token=f"flow-{{i}}",
    )
    Statement.objects.create(
        contract=contract, month=dt.date(2026, 11, 1), customer_number=contract.customer_number,
        subtotal=1000 + i, tax=100, total=1100 + i, tax_percent=10, issued_at=issued,
    )
"""
STATE = """
import json
from mypage.billing.charges import StatementCharge
print(json.dumps(sorted([c.status, c.state, c.attempts] for c in StatementCharge.objects.all())))
"""
KEYS = """
import json
from mypage.billing.charges import StatementCharge
paid = StatementCharge.objects.filter(status="paid").values_list("idempotency_key", flat=True)
print(json.dumps(sorted(paid)))
"""


def claimed(tmp_path: Path) -> int:
    """Charges a worker has claimed an attempt of, read directly (no process start-up)."""
    if connection.vendor == "postgresql":
        return StatementCharge.objects.filter(attempts__gt=0).count()
    with sqlite3.connect(tmp_path / "charges.sqlite3") as db:
        return int(
            db.execute("SELECT count(*) FROM billing_statementcharge WHERE attempts > 0").fetchone()[0]
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_killed_and_run_again_each_statement_is_charged_exactly_once(tmp_path: Path):
    with sandbox_gateway(tmp_path, origins=["http://127.0.0.1:8000"]) as gateway:
        cards = [gateway.card("4111111111111111") for _ in range(STATEMENTS - 1)]
        cards.append(gateway.card("4000000000009995"))  # declined at a charge: insufficient funds
        project = Project(
            tmp_path,
            "charges.sqlite3",
            GATEWAY_API_URL=gateway.url,
            GATEWAY_PUBLIC_URL=gateway.url,
            GATEWAY_SECRET_KEY=gateway.secret_key,
            GATEWAY_PUBLISHABLE_KEY=gateway.publishable_key,
            GATEWAY_TIMEOUT_SECONDS="10",
        )
        project.ok("shell", "-c", SEED.format(cards=json.dumps(cards)))

        # Two runs at once: one charge row per statement.
        runs = [project.start("charge_month", "2026-11") for _ in range(2)]
        outputs = [run.communicate(timeout=PROCESS_TIMEOUT) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        queued = sum(int(out.split(":")[1].split()[0]) for out, _err in outputs)
        assert queued == STATEMENTS
        assert len(project.shell_json(STATE)) == STATEMENTS

        # A worker killed while the gateway is making a charge (each call waits 3 s first).
        gateway.faults("slow", delay_seconds=3)
        first = project.start_logged("jobs_worker", "--interval", "0.2", "--lease", "2")
        try:
            end = time.monotonic() + 60
            while claimed(tmp_path) == 0:
                assert time.monotonic() < end and first.poll() is None, project.log_text()
                time.sleep(0.05)
            time.sleep(1)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            stop(first)
        time.sleep(3.5)  # the gateway finishes the call it was making: a charge nobody recorded
        gateway.faults("none")
        charged = {c["idempotency_key"] for c in gateway.charges() if c["status"] == "succeeded"}
        recorded = set(project.shell_json(KEYS))
        assert charged - recorded, (charged, recorded)  # the gateway said yes to a dead worker

        # Run again: charge_month adds nothing, a new worker finishes, nothing is charged twice.
        assert "0 charges queued" in project.ok("charge_month", "2026-11")
        second = project.start_logged("jobs_worker", "--batch", "--lease", "2")
        try:
            assert second.wait(timeout=PROCESS_TIMEOUT) == 0, project.log_text()
        finally:
            stop(second)

        states = project.shell_json(STATE)
        assert [s for s, state, _n in states].count("paid") == STATEMENTS - 1, states
        assert [s for s, state, _n in states].count("declined") == 1, states
        assert all(state == "done" for _s, state, _n in states), states
        stats = gateway.stats()
        assert stats["succeeded"] == STATEMENTS - 1
        assert stats["declined"] == 1
        assert stats["keys_with_more_than_one_success"] == 0
        assert stats["statements_charged_more_than_once"] == 0
        keys = [c["idempotency_key"] for c in gateway.charges()]
        assert len(keys) == len(set(keys)) == STATEMENTS
        assert all(k.startswith("statement-7160000000") and k.endswith("-202611") for k in keys)
