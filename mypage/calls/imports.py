"""The carriers' call-detail CSV → CallRecord (issue 15 point 5): one function for the command
and the back office. Every row is validated; a file with a rejected row imports nothing (unless
``skip_invalid``); the insert is one transaction and a re-import inserts nothing (natural key)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction

from mypage.audit.models import ActorKind, AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import Refused

from . import rules
from .locks import CallsBusyError, lock_for_import
from .models import CallImport, CallRecord, CallService

SERVICE_BY_LABEL = {label: value for value, label in CallService.choices}
CHUNK = 5_000
STAFF_MAY_IMPORT = "calls.import_callrecord"


class ImportError_(Exception):
    """The file as a whole cannot be read (encoding, header)."""


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class ImportResult:
    record: CallImport | None
    read: int = 0
    imported: int = 0
    present: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    late_months: list[dt.date] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.record is not None

    def report(self) -> str:
        out = []
        if self.error:
            out.append(f"取込できません: {self.error}")
        out.append(
            f"読込 {self.read} 行 / 取込 {self.imported} 件 / 取込済み {self.present} 件 / "
            f"不正 {len(self.rejected)} 行"
        )
        for r in self.rejected[:1000]:
            out.append(f"{r.line}行目: {r.reason}")
        if len(self.rejected) > 1000:
            out.append(f"… ほか {len(self.rejected) - 1000} 行")
        if self.rejected and self.record is None:
            out.append("不正な行があるため、このファイルは1件も取り込んでいません。")
        for month in self.late_months:
            out.append(
                f"{month.year}年{month.month}月分は締め済みです: 次の未締めの月の請求明細に"
                f"「({month.year}年{month.month}月分)」として載ります。"
            )
        return "\n".join(out)


def decode(data: bytes) -> str:
    """UTF-8 with a BOM, else strict UTF-8, else cp932 (Shift_JIS); anything else is refused."""
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as exc:
        raise ImportError_("文字コードがUTF-8でもShift_JISでもありません") from exc


@dataclass(slots=True)
class _Row:
    line: int
    service: str
    customer: str
    started_at: dt.datetime
    called: str
    duration: int
    amount: int


def _parse(text: str, now: dt.datetime, result: ImportResult) -> list[_Row]:
    reader: Iterator[list[str]] = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ImportError_("空のファイルです") from exc
    if tuple(h.strip() for h in header) != rules.HEADER:
        raise ImportError_("1行目の見出しが違います: " + ",".join(rules.HEADER) + " が必要です")
    rows: list[_Row] = []
    width = len(rules.HEADER)
    tz = clock.TOKYO
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        result.read += 1
        if len(cells) != width:
            result.rejected.append(Rejected(line, f"列の数が{len(cells)}です ({width}列が必要です)"))
            continue
        problem = next((p for c in cells if (p := rules.cell_problem(c))), None)
        if problem:
            result.rejected.append(Rejected(line, problem))
            continue
        label, customer, started, called, duration, amount = cells
        service = SERVICE_BY_LABEL.get(label)
        if service is None:
            result.rejected.append(Rejected(line, f"サービス「{label}」は不明です"))
            continue
        if not rules.CUSTOMER_NUMBER.fullmatch(customer):
            result.rejected.append(Rejected(line, "お客様番号は14桁の数字です"))
            continue
        m = rules.DATETIME.fullmatch(started)
        try:
            if m is None:
                raise ValueError
            at = dt.datetime(*map(int, m.groups()), tzinfo=tz)  # type: ignore[arg-type, misc]
        except ValueError:
            result.rejected.append(Rejected(line, "通話開始日時は YYYY-MM-DD HH:MM:SS の日時です"))
            continue
        if at > now:
            result.rejected.append(Rejected(line, "通話開始日時が未来です"))
            continue
        if p := rules.called_number_problem(called):
            result.rejected.append(Rejected(line, p))
            continue
        if not rules.INTEGER.fullmatch(duration) or int(duration) > rules.MAX_DURATION:
            result.rejected.append(Rejected(line, f"通話時間(秒)は0〜{rules.MAX_DURATION}の整数です"))
            continue
        if not rules.INTEGER.fullmatch(amount) or int(amount) > rules.MAX_AMOUNT:
            result.rejected.append(Rejected(line, f"金額(税別)は0〜{rules.MAX_AMOUNT}の整数(円)です"))
            continue
        rows.append(_Row(line, service, customer, at, called, int(duration), int(amount)))
    return rows


def calls_import(
    *,
    data: bytes,
    file_name: str,
    actor: Actor,
    skip_invalid: bool = False,
    closed_months: Collection[dt.date] = (),
) -> ImportResult:
    """Validate every row of ``data``, then insert the valid rows in one transaction, audited
    (通話明細の取込) with the import's figures. Staff need ``calls.import_callrecord``; the system
    (``manage.py import_calls``) may always.

    ``closed_months`` are the months whose close has finished (billing, a layer above, says which:
    ``billing.selectors.closed_months``); their calls are accepted and the report says they go on
    the next open month's statement. While a month close runs the import waits for it
    (``locks.lock_for_import``); a close that outlasts the wait gives ``result.error``."""
    if not (actor.kind is ActorKind.SYSTEM or actor.may(STAFF_MAY_IMPORT)):
        raise Refused.page("この操作を行う権限がありません。")
    result = ImportResult(record=None)
    try:
        text = decode(data)
        rows = _parse(text, clock.now(), result)
    except ImportError_ as exc:
        result.error = str(exc)
        return result
    # One query for every customer number seen.
    customers = {r.customer for r in rows}
    ids: dict[str, int] = {}
    numbers = list(customers)
    for i in range(0, len(numbers), 10_000):
        ids.update(
            Contract.objects.filter(customer_number__in=numbers[i : i + 10_000]).values_list(
                "customer_number", "pk"
            )
        )
    valid: list[_Row] = []
    for r in rows:
        if r.customer in ids:
            valid.append(r)
        else:
            result.rejected.append(Rejected(r.line, f"お客様番号 {r.customer} の契約がありません"))
    result.rejected.sort(key=lambda r: r.line)
    if result.rejected and not skip_invalid:
        return result
    months = {r.started_at.date().replace(day=1) for r in valid}
    result.late_months = sorted(months & set(closed_months))
    try:
        with transaction.atomic():
            lock_for_import()
            result.record = _write(valid, ids, result, data=data, file_name=file_name, actor=actor)
    except CallsBusyError as exc:
        result.record = None
        result.error = str(exc)
    return result


def _write(
    valid: list[_Row], ids: dict[str, int], result: ImportResult, *, data: bytes, file_name: str, actor: Actor
) -> CallImport:
    record = CallImport.objects.create(
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        imported_by=actor.name[:150],
        imported_at=clock.now(),
        rows_read=result.read,
        rows_rejected=len(result.rejected),
    )
    if connection.vendor == "postgresql":
        inserted = _insert_postgresql(valid, ids, record.pk)
    else:
        inserted = _insert_bulk(valid, ids, record.pk)
    result.imported = inserted
    result.present = len(valid) - inserted
    result.record = record
    record.rows_imported = result.imported
    record.rows_present = result.present
    record.report = result.report()
    record.save(update_fields=["rows_imported", "rows_present", "report"])
    audit_change(
        actor,
        AuditAction.CALLS_IMPORT,
        target=file_name[:100],
        details={
            "import": record.pk,
            "sha256": record.sha256,
            "read": result.read,
            "imported": result.imported,
            "present": result.present,
            "rejected": len(result.rejected),
        },
    )
    return record


def _insert_bulk(rows: list[_Row], ids: dict[str, int], import_id: int) -> int:
    before = CallRecord.objects.count()
    for i in range(0, len(rows), CHUNK):
        CallRecord.objects.bulk_create(
            [
                CallRecord(
                    contract_id=ids[r.customer],
                    service=r.service,
                    started_at=r.started_at,
                    called_number=r.called,
                    duration_seconds=r.duration,
                    amount=r.amount,
                    call_month=r.started_at.date().replace(day=1),
                    imported_id=import_id,
                )
                for r in rows[i : i + CHUNK]
            ],
            ignore_conflicts=True,
        )
    return CallRecord.objects.count() - before


def _insert_postgresql(rows: list[_Row], ids: dict[str, int], import_id: int) -> int:
    table = CallRecord._meta.db_table
    with connection.cursor() as cursor:
        # Dropped at the end too: ON COMMIT DROP alone would leave it inside an outer transaction.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.calls_staging")
        cursor.execute(
            "CREATE TEMP TABLE calls_staging (contract_id bigint, service text, started_at timestamptz, "
            "called_number text, duration_seconds integer, amount integer, call_month date) ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            "COPY calls_staging (contract_id, service, started_at, called_number, duration_seconds, "
            "amount, call_month) FROM STDIN"
        ) as copy:
            for r in rows:
                copy.write_row(
                    (
                        ids[r.customer],
                        r.service,
                        r.started_at,
                        r.called,
                        r.duration,
                        r.amount,
                        r.started_at.date().replace(day=1),
                    )
                )
        cursor.execute(
            f"INSERT INTO {table} (contract_id"  # noqa: S608 - the model's own table name
            ", service, started_at, called_number, duration_seconds, "
            "amount, call_month, imported_id) SELECT contract_id, service, started_at, called_number, "
            "duration_seconds, amount, call_month, %s FROM calls_staging "
            "ON CONFLICT (service, contract_id, started_at, called_number) DO NOTHING",
            [import_id],
        )
        inserted: int = cursor.rowcount
        cursor.execute("DROP TABLE calls_staging")
        return inserted
