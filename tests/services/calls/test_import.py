"""import_calls (issue 15 point 5): encodings, every bad input, all-or-nothing, re-import."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mypage.audit.services import Actor
from mypage.calls import imports, rules
from mypage.calls.imports import calls_import
from mypage.calls.models import CallImport, CallRecord
from mypage.calls.rules import HEADER
from mypage.core import clock
from mypage.testing.factories import make_contract
from tests.support.concurrency import other_session

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
    from mypage.calls import locks

    with other_session() as other:
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


# --- streaming (issue 15 point 8): file objects, encodings found late, many rejected rows, quotes ----


def rows_of_calls(n: int, customer: str = "71000000000001") -> list[str]:
    """n distinct calls of November, one a second: ASCII, so the same bytes in UTF-8 and Shift_JIS."""
    at = "2026-11-{:02d} {:02d}:{:02d}:{:02d}"
    times = (at.format(1 + i // 86400, i // 3600 % 24, i // 60 % 60, i % 60) for i in range(n))
    return [f"GATE CALL,{customer},{time},03{i:08d},60,10" for i, time in enumerate(times)]


def test_a_file_object_is_streamed_and_left_open(contract, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(csv_bytes(*rows_of_calls(3)))
    with path.open("rb") as data:
        result = run(data)
        assert not data.closed
    assert result.ok and result.imported == 3
    assert CallImport.objects.get().sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_uploaded_files_are_read_in_memory_and_on_disk(contract):
    from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

    assert run(SimpleUploadedFile("t.csv", csv_bytes(GOOD))).imported == 1
    with TemporaryUploadedFile("t.csv", "text/csv", 0, None) as upload:
        upload.write(
            csv_bytes(GOOD, "UCOM光電話,71000000000001,2026-11-03 10:00:00,0661234567,60,8", encoding="cp932")
        )
        result = run(upload)
    assert (result.imported, result.present) == (1, 1)


def test_a_utf8_character_across_the_first_block_is_still_utf8(contract):
    head = csv_bytes(*rows_of_calls(16_000))
    # Blank lines (skipped) put 光's first byte last in the first block read, its others after.
    gap = imports.READ_BLOCK - 1 - len(head) - len(b"UCOM")
    data = head + b"\n" * gap + "UCOM光電話,71000000000001,2026-11-03 10:00:00,0661234567,60,8\r\n".encode()
    assert data[imports.READ_BLOCK - 1 : imports.READ_BLOCK + 2] == "光".encode()
    result = run(data)
    assert result.ok and result.imported == 16_001
    assert CallRecord.objects.get(service="phone").amount == 8


def test_shift_jis_found_late_reads_the_whole_file_as_shift_jis(contract):
    """UTF-8 up to a Shift_JIS row far after the first block read: the file is not UTF-8, so all
    of it is Shift_JIS — whose reading of the UTF-8 header fails: refused as a whole, as before
    streaming, and not one of the rows before is imported."""
    rows = rows_of_calls(30_000)
    data = csv_bytes(*rows) + "UCOM光電話,71000000000001,2026-11-03 10:00:00,0661234567,60,8\r\n".encode(
        "cp932"
    )
    assert len(csv_bytes(*rows)) > imports.READ_BLOCK
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = run(data)
    assert not result.ok and "文字コード" in result.error
    assert not CallRecord.objects.exists() and not CallImport.objects.exists()


def test_a_long_shift_jis_file_with_a_bad_byte_at_its_end_imports_nothing(contract):
    rows = rows_of_calls(30_000)
    data = csv_bytes(*rows, "UCOM光電話,71000000000001,2026-11-03 10:00:00,0661234567,60,8", encoding="cp932")
    assert run(data).imported == 30_001  # Shift_JIS from its header on, longer than a block
    CallRecord.objects.all().delete()
    CallImport.objects.all().delete()
    result = run(data[:-2] + b"\x81\x7f\r\n")  # not a Shift_JIS character: found while rows are staged
    assert not result.ok and "文字コード" in result.error
    assert not CallRecord.objects.exists() and not CallImport.objects.exists()


def test_more_than_a_thousand_rejected_rows_are_counted_and_the_first_thousand_listed(contract):
    rows = rows_of_calls(1_503)
    for i in range(1_500):  # unknown customers (found by the database) and bad amounts, interleaved
        rows[i] = rows[i].replace("71000000000001", "71000000000099") if i % 2 else rows[i][:-2] + "x"
    result = run(csv_bytes(*rows))
    assert not result.ok and result.rejected_count == 1_500 and len(result.rejected) == 1_000
    assert [r.line for r in result.rejected] == list(range(2, 1_002))
    assert "金額" in result.rejected[0].reason and "契約がありません" in result.rejected[1].reason
    report = result.report()
    assert "不正 1500 行" in report and "1001行目" in report and "1002行目" not in report
    assert "… ほか 500 行" in report and "1件も取り込んでいません" in report
    assert not CallRecord.objects.exists()
    result = run(csv_bytes(*rows), skip_invalid=True)
    assert result.ok and (result.imported, result.rejected_count) == (3, 1_500)
    assert CallImport.objects.get().rows_rejected == 1_500


def test_quoted_cells_are_read_as_csv_and_lines_counted_by_record(contract):
    result = run(
        csv_bytes(
            GOOD,
            '"GATE CALL","71000000000001","2026-11-05 12:00:00","0312345678","60","10"',
            'GATE CALL,71000000000001,"2026-11-06\r\n12:00:00",0312345678,60,10',
            "GATE CALL,71000000000001,2026-11-07 12:00:00,0312345678,60,-1",
            "GATE CALL,71000000000001,2026-11-08 12:00:00,0312345678,60,10",
        ),
        skip_invalid=True,
    )
    assert [r.line for r in result.rejected] == [4, 5]
    assert "通話開始日時" in result.rejected[0].reason and "数式" in result.rejected[1].reason
    assert (result.read, result.imported) == (5, 3)


def test_the_clock_of_today_and_dates_with_slashes(contract):
    result = run(
        csv_bytes(
            "GATE CALL,71000000000001,2026-12-04 12:00:00,0312345678,60,10",  # now, to the second
            "GATE CALL,71000000000001,2026/11-02 09:15:04,0312345678,60,10",
            "GATE CALL,71000000000001,2026-12-04 12:00:01,0312345678,60,10",
        ),
        skip_invalid=True,
    )
    assert [(r.line, "未来" in r.reason) for r in result.rejected] == [(4, True)]
    assert sorted(CallRecord.objects.values_list("started_at", flat=True)) == [
        dt.datetime(2026, 11, 2, 9, 15, 4, tzinfo=clock.TOKYO),
        NOW,
    ]


def test_a_call_twice_in_the_file_keeps_its_first_line(contract):
    result = run(csv_bytes(GOOD, GOOD[:-2] + "99"))
    assert (result.imported, result.present) == (1, 1)
    assert CallRecord.objects.get().amount == 30


# Cells near every rule's edges, for the property below.
CELLS = {
    "label": ["GATE CALL", "GATE CALL050", "UCOM光電話", "SKYPE", "gate call", "=GATE CALL", ""],
    "customer": ["71000000000001", "7100000000000", "710000000000012", "7100000000000X", "７1000000000001"],
    "date": [
        "2026-11-02",
        "2026/11/02",
        "2026-11/02",
        "2026-02-30",
        "2026-12-04",
        "2026-12-05",
        "0000-01-01",
    ],
    "time": [" 09:15:04", " 12:00:00", " 12:00:01", " 23:59:59", " 24:00:00", " 9:15:04", "T09:15:04", ""],
    "called": [
        "0312345678",
        "09012345678",
        "031234567890",
        "01012345678901",
        "0101234567890123",
        "01012345678901234",
        "312345678",
        "03-1234-5678",
        "@0312345678",
        "031234\x005678",
    ],
    "duration": [
        "0",
        "60",
        "86400",
        "86401",
        "000086400",
        "000086401",
        "1234567890",
        "",
        "1.5",
        "-5",
        "６０",
    ],
    "amount": ["0", "8", "1000000", "1000001", "001000000", "0001000001", "", "+1", "ten"],
}


@st.composite
def call_files(draw):
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        c = {column: draw(st.sampled_from(values)) for column, values in CELLS.items()}
        cells = [c["label"], c["customer"], c["date"] + c["time"], c["called"], c["duration"], c["amount"]]
        cells = draw(st.sampled_from([cells, cells[:5], [*cells, ""], []]))
        if draw(st.booleans()):
            out = io.StringIO()
            csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(cells)
            text = out.getvalue()
        else:
            text = ",".join(cells)
        lines.append(text + draw(st.sampled_from(["\r\n", "\n", "\r"])))
    return "".join(lines)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call_files())
def test_the_fast_path_reads_every_row_as_the_rules_do(text):
    """Whatever the lines, the import keeps exactly the rows rules accept, and rejects the others
    with rules' reasons and csv.reader's line numbers."""
    expected_valid, expected_rejected = [], []
    records = list(csv.reader(io.StringIO(text, newline="")))
    for line, cells in enumerate(records, start=2):
        if not cells:
            continue
        if reason := imports._problem(cells, NOW):
            expected_rejected.append((line, reason))
        else:
            at = dt.datetime(*map(int, rules.DATETIME.fullmatch(cells[2]).groups()))
            expected_valid.append((line, imports.SERVICE_BY_LABEL[cells[0]], cells[1], at, *cells[3:]))
    result, rejections = imports.ImportResult(record=None), imports._Rejections()
    valid = [
        (line, service, customer, dt.datetime.fromisoformat(day.iso + clock_time), called, duration, amount)
        for line, service, customer, day, clock_time, called, duration, amount in imports._valid_rows(
            io.StringIO(text, newline=""), NOW, result, rejections
        )
    ]
    rejections.store(result)
    assert valid == expected_valid
    assert [(r.line, r.reason) for r in result.rejected] == expected_rejected
    assert result.read == sum(1 for cells in records if cells)
