"""import_calls (issue 15 point 5): encodings, every bad input, all-or-nothing, re-import."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from mypage.audit.services import Actor
from mypage.calls.imports import calls_import
from mypage.calls.models import CallImport, CallRecord
from mypage.calls.rules import HEADER
from mypage.core import clock
from mypage.testing.factories import make_contract

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "samples" / "calls-sample.csv"
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=clock.TOKYO)
GOOD = "GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,205,30"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def contract():
    return make_contract("71000000000001", "spaaqs_multi")


def csv_bytes(*rows: str, encoding: str = "utf-8", header: str = ",".join(HEADER)) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def run(data: bytes, **kw):
    return calls_import(data=data, file_name="t.csv", actor=Actor.system("test"), **kw)


def test_utf8_without_bom_imports(contract):
    result = run(csv_bytes(GOOD, "UCOM光電話,71000000000001,2026-11-03 10:00:00,0661234567,60,8"))
    assert result.ok and result.imported == 2
    call = CallRecord.objects.get(service="gatecall")
    assert (call.contract_id, call.called_number, call.duration_seconds, call.amount) == (
        contract.pk,
        "0312345678",
        205,
        30,
    )
    assert call.started_at == dt.datetime(2026, 11, 2, 9, 15, 4, tzinfo=clock.TOKYO)
    assert call.call_month == dt.date(2026, 11, 1) and call.billed_month is None
    assert CallImport.objects.get().rows_imported == 2


def test_utf8_with_bom_imports(contract):
    result = run(codecs.BOM_UTF8 + csv_bytes(GOOD))
    assert result.ok and result.imported == 1


def test_shift_jis_imports(contract):
    result = run(csv_bytes("UCOM光電話,71000000000001,2026-11-03 10:00:00,0661234567,60,8", encoding="cp932"))
    assert result.ok and CallRecord.objects.get().service == "phone"


def test_wrong_encoding_is_refused(contract):
    result = run(csv_bytes(GOOD, encoding="utf-16"))
    assert not result.ok and "文字コード" in result.report()
    assert not CallRecord.objects.exists()


def test_missing_header_column_is_refused(contract):
    result = run(csv_bytes(GOOD, header=",".join(HEADER[:-1])))
    assert not result.ok and "見出し" in result.error


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,205", "列の数が5"),
        (GOOD + ",1", "列の数が7"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,-5,30", "数式"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,86401,30", "通話時間"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,99999999999,30", "通話時間"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,1.5,30", "通話時間"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,205,30.5", "金額"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,205,abc", "金額"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,205,1000001", "金額"),
        ("GATE CALL,7100000000000,2026-11-02 09:15:04,0312345678,205,30", "14桁"),
        ("GATE CALL,7100000000000X,2026-11-02 09:15:04,0312345678,205,30", "14桁"),
        ("GATE CALL,71000000000099,2026-11-02 09:15:04,0312345678,205,30", "契約がありません"),
        ("GATE CALL,71000000000001,2026-12-05 09:15:04,0312345678,205,30", "未来"),
        ("GATE CALL,71000000000001,2026-02-30 09:15:04,0312345678,205,30", "通話開始日時"),
        ("GATE CALL,71000000000001,2026/11/02 9:15,0312345678,205,30", "通話開始日時"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,312345678,205,30", "通話先電話番号"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,03-1234-5678,205,30", "通話先電話番号"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,031234567890,205,30", "国内"),
        ("SKYPE,71000000000001,2026-11-02 09:15:04,0312345678,205,30", "サービス"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,\"=cmd|' /C calc'!A0\",205,30", "数式"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,@SUM(1),205,30", "数式"),
        ("GATE CALL,71000000000001,2026-11-02 09:15:04,03123\x0045678,205,30", "NUL"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_imported(contract, row, reason):
    result = run(csv_bytes(GOOD, row))
    assert not result.ok
    assert [(r.line, reason in r.reason) for r in result.rejected] == [(3, True)], result.rejected
    assert "3行目" in result.report() and "1件も取り込んでいません" in result.report()
    assert not CallRecord.objects.exists() and not CallImport.objects.exists()


def test_skip_invalid_imports_the_rest_and_reports(contract):
    bad = "GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,-1,30"
    result = run(
        csv_bytes(GOOD, bad, "GATE CALL050,71000000000001,2026-11-05 12:00:00,05012345678,600,60"),
        skip_invalid=True,
    )
    assert result.ok and result.imported == 2
    assert "3行目" in result.report() and CallImport.objects.get().rows_rejected == 1


def test_reimport_changes_nothing(contract):
    data = csv_bytes(GOOD, "GATE CALL050,71000000000001,2026-11-05 12:00:00,05012345678,600,60")
    assert run(data).imported == 2
    before = list(CallRecord.objects.values())
    again = run(data)
    assert (again.imported, again.present) == (0, 2)
    assert list(CallRecord.objects.values()) == before


def test_closed_month_is_accepted_and_reported(contract):
    result = run(csv_bytes(GOOD), closed_months={dt.date(2026, 11, 1)})
    assert result.ok and result.imported == 1
    assert "2026年11月分は締め済み" in result.report()


def test_one_bad_row_in_the_middle_of_a_large_file(contract):
    at = "2026-11-{:02d} {:02d}:{:02d}:{:02d}"
    rows = [
        f"GATE CALL,71000000000001,{at.format(1 + i // 86400, i // 3600 % 24, i // 60 % 60, i % 60)},"
        f"03{i:08d},60,10"
        for i in range(100_000)
    ]
    rows[50_000] = rows[50_000].replace(",60,10", ",60,-10")
    result = run(csv_bytes(*rows))
    assert [r.line for r in result.rejected] == [50_002]
    assert not CallRecord.objects.exists()


def test_the_command_exit_codes_and_the_sample(contract, tmp_path, capsys):
    make_contract("90000000000000", "spaaqs_multi")
    call_command("import_calls", str(SAMPLE))
    assert CallRecord.objects.count() == 5
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("GATE CALL,71000000000001,2026-11-02 09:15:04,0312345678,205,x"))
    with pytest.raises(SystemExit) as exit_:
        call_command("import_calls", str(bad))
    assert exit_.value.code == 2
    assert "2行目" in capsys.readouterr().err
    assert CallRecord.objects.count() == 5


# --- who may import, the audit, and a month close in progress --------------------------------------


def test_the_import_is_audited_with_its_figures(contract):
    from mypage.audit.models import AuditAction, AuditEntry

    result = run(csv_bytes(GOOD), skip_invalid=False)
    entry = AuditEntry.objects.get(action=AuditAction.CALLS_IMPORT)
    assert (entry.actor_kind, entry.actor, entry.target) == ("system", "test", "t.csv")
    assert entry.details["import"] == result.record.pk
    assert (entry.details["read"], entry.details["imported"], entry.details["rejected"]) == (1, 1, 0)


def test_a_refused_file_is_not_audited(contract):
    from mypage.audit.models import AuditAction, AuditEntry

    result = run(csv_bytes(GOOD, "GATE CALL,71000000000001,2026-11-02,0312345678,1,1"))
    assert not result.ok
    assert not AuditEntry.objects.filter(action=AuditAction.CALLS_IMPORT).exists()


def test_staff_need_the_import_permission(contract):
    from mypage.audit.models import ActorKind
    from mypage.core.errors import Refused

    clerk = Actor(kind=ActorKind.STAFF, name="clerk", staff_permissions=frozenset({"billing.view_statement"}))
    with pytest.raises(Refused):
        calls_import(data=csv_bytes(GOOD), file_name="t.csv", actor=clerk)
    for kind in (ActorKind.HOLDER, ActorKind.ADMIN, ActorKind.USER):
        with pytest.raises(Refused):
            calls_import(data=csv_bytes(GOOD), file_name="t.csv", actor=Actor(kind=kind, name="x"))
    assert not CallRecord.objects.exists()
    importer = Actor(
        kind=ActorKind.STAFF, name="importer", staff_permissions=frozenset({"calls.import_callrecord"})
    )
    assert calls_import(data=csv_bytes(GOOD), file_name="t.csv", actor=importer).imported == 1
    assert CallImport.objects.get().imported_by == "importer"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock")
def test_an_import_waits_for_a_month_close_and_gives_up_with_a_message(contract):
    import psycopg

    from mypage.calls import locks

    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"],
        dbname=s["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [locks.LOCK_CLASS, locks.LOCK_KEY])
        original = locks.lock_for_import.__kwdefaults__["wait_seconds"]
        locks.lock_for_import.__kwdefaults__["wait_seconds"] = 0.2
        try:
            result = run(csv_bytes(GOOD))
        finally:
            locks.lock_for_import.__kwdefaults__["wait_seconds"] = original
            other.execute("SELECT pg_advisory_unlock(%s, %s)", [locks.LOCK_CLASS, locks.LOCK_KEY])
    assert not result.ok and "月次締め処理中" in result.error and result.record is None
    assert not CallRecord.objects.exists() and not CallImport.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"  # the wait was the import's own, not left behind
    assert run(csv_bytes(GOOD)).imported == 1
