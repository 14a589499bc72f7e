"""The carriers' call-detail CSV → CallRecord (issue 15 point 5): one function for the command
and the back office. Every row is validated; a file with a rejected row imports nothing (unless
``skip_invalid``); the insert is one transaction and a re-import inserts nothing (natural key).

The file is streamed (issue 15 point 8: a million rows): read once for its encoding and SHA-256,
then parsed row by row into the database — on PostgreSQL a COPY into a temporary staging table,
checked and inserted set-based; on SQLite chunks of ``bulk_create``. Memory does not grow with the
number of rows: not even the rejected ones are all kept (``ImportResult.rejected``)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import heapq
import io
import itertools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, cast

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
READ_BLOCK = 1 << 20
REPORT_LINES = 1_000  # rejected rows listed in the report (and kept in memory)
STAFF_MAY_IMPORT = "calls.import_callrecord"
NOT_ENCODED = "文字コードがUTF-8でもShift_JISでもありません"

# A line of the file that is a valid row but for the date's existence, the future and the number
# ranges (which _valid_rows checks after it): the fast path. It holds no quote, so it is also
# exactly the cells csv.reader would make of the line.
ROW = re.compile(
    "(" + "|".join(re.escape(label) for label in SERVICE_BY_LABEL) + ")"
    r",([0-9]{14})"
    r",([0-9]{4}[-/][0-9]{2}[-/][0-9]{2})( (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])"
    r",(0[0-9]{9,10}|010[0-9]{9,13})"  # rules.called_number_problem: 10–11 digits, 12–16 after 010
    r",([0-9]{1,9}),([0-9]{1,9})"
    r"\r?\n?"
)
DATE = re.compile(r"([0-9]{4})[-/]([0-9]{2})[-/]([0-9]{2})")


class ImportError_(Exception):
    """The file as a whole cannot be read (encoding, header)."""


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class ImportResult:
    """``rejected`` lists the first ``REPORT_LINES`` rejected rows by line number (what the report
    shows); ``rejected_unlisted`` counts the others."""

    record: CallImport | None
    read: int = 0
    imported: int = 0
    present: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    late_months: list[dt.date] = field(default_factory=list)
    error: str = ""
    rejected_unlisted: int = 0

    @property
    def ok(self) -> bool:
        return not self.error and self.record is not None

    @property
    def rejected_count(self) -> int:
        return len(self.rejected) + self.rejected_unlisted

    def report(self) -> str:
        out = []
        if self.error:
            out.append(f"取込できません: {self.error}")
        out.append(
            f"読込 {self.read} 行 / 取込 {self.imported} 件 / 取込済み {self.present} 件 / "
            f"不正 {self.rejected_count} 行"
        )
        for r in self.rejected[:REPORT_LINES]:
            out.append(f"{r.line}行目: {r.reason}")
        if self.rejected_count > REPORT_LINES:
            out.append(f"… ほか {self.rejected_count - REPORT_LINES} 行")
        if self.rejected and self.record is None:
            out.append("不正な行があるため、このファイルは1件も取り込んでいません。")
        for month in self.late_months:
            out.append(
                f"{month.year}年{month.month}月分は締め済みです: 次の未締めの月の請求明細に"
                f"「({month.year}年{month.month}月分)」として載ります。"
            )
        return "\n".join(out)


class _Rejections:
    """The first REPORT_LINES rejected rows by line number, and how many there are in all: rows
    arrive out of order (PostgreSQL finds the unknown customers after the others)."""

    def __init__(self) -> None:
        self.count = 0
        self._heap: list[tuple[int, str]] = []  # (-line, reason): the largest line on top

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self._heap) < REPORT_LINES:
            heapq.heappush(self._heap, (-line, reason))
        elif line < -self._heap[0][0]:
            heapq.heapreplace(self._heap, (-line, reason))

    def store(self, result: ImportResult) -> None:
        result.rejected = [Rejected(-line, reason) for line, reason in sorted(self._heap, reverse=True)]
        result.rejected_unlisted = self.count - len(result.rejected)


class _NothingImported(Exception):
    """Rows were rejected and ``skip_invalid`` is off: leave the transaction, undone."""


# --- reading the file -------------------------------------------------------------------------------


def _sniff(stream: BinaryIO) -> tuple[str, str]:
    """(encoding, SHA-256) of the whole file, read once: UTF-8 with a BOM, else UTF-8 if every byte
    of the file is, else cp932 (Shift_JIS), which the parse then checks as it goes. A file whose
    first non-UTF-8 byte comes late is thus read as cp932 from its start."""
    digest = hashlib.sha256()
    stream.seek(0)
    block = stream.read(READ_BLOCK)
    encoding = "utf-8-sig" if block.startswith(codecs.BOM_UTF8) else "utf-8"
    utf8 = codecs.getincrementaldecoder("utf-8")() if encoding == "utf-8" else None
    while block:
        digest.update(block)
        if utf8 is not None:
            try:
                utf8.decode(block)
            except UnicodeDecodeError:
                utf8, encoding = None, "cp932"
        block = stream.read(READ_BLOCK)
    if utf8 is not None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "cp932"
    stream.seek(0)
    return encoding, digest.hexdigest()


def _check_header(text: Iterator[str]) -> None:
    """Line 1 (read by csv.reader, which takes no more lines than the record needs)."""
    try:
        header = next(csv.reader(text))
    except StopIteration as exc:
        raise ImportError_("空のファイルです") from exc
    if tuple(h.strip() for h in header) != rules.HEADER:
        raise ImportError_("1行目の見出しが違います: " + ",".join(rules.HEADER) + " が必要です")


# --- validating the rows ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Day:
    date: dt.date
    iso: str  # YYYY-MM-DD (the file may write YYYY/MM/DD)
    month: str  # YYYY-MM-01
    when: int  # < 0 before today, 0 today, > 0 after today (Asia/Tokyo)


class _Days(dict[str, "_Day | None"]):
    """A call's date part (``started[:10]``) → the day, or None if it is no real date: calls
    cluster on a few days, so the date is parsed once per day, not once per row."""

    LIMIT = 10_000  # distinct date parts kept; a file of random dates cannot make it grow beyond

    def __init__(self, today: dt.date) -> None:
        super().__init__()
        self.today = today

    def __missing__(self, text: str) -> _Day | None:
        day = None
        if m := DATE.fullmatch(text):
            try:
                date = dt.date(*map(int, m.groups()))
            except ValueError:
                pass
            else:
                when = (date > self.today) - (date < self.today)
                day = _Day(date, date.isoformat(), f"{date:%Y-%m}-01", when)
        if len(self) >= self.LIMIT:
            self.clear()
        self[text] = day
        return day


# A valid row as the parse gives it: (line, service, customer, day, " HH:MM:SS", called, seconds, yen).
_Valid = tuple[int, str, str, _Day, str, str, str, str]


def _valid_rows(
    text: Iterator[str], now: dt.datetime, result: ImportResult, rejections: _Rejections
) -> Iterator[_Valid]:
    """The data rows that pass every check of rules, with their line numbers (the header is line
    1); the others go to ``rejections`` with the reason. The hot loop: a line that ROW matches and
    whose date, time and numbers are in range is valid; any other is judged by ``_problem`` (rules
    in their order), which has the last word. From the first line holding a quote on, csv.reader
    reads the file (a quoted cell may span lines) and every row is judged so."""
    services = SERVICE_BY_LABEL
    days = _Days(now.date())
    now_time = now.strftime(" %H:%M:%S")
    row_match = ROW.fullmatch
    max_duration, max_amount = rules.MAX_DURATION, rules.MAX_AMOUNT
    # A number with fewer digits than the maximum is below it: no int() for most rows.
    duration_digits, amount_digits = len(str(max_duration)), len(str(max_amount))
    read = 0
    line = 1
    lines = iter(text)
    quoted: Iterator[str] = iter(())
    for raw in lines:
        line += 1
        if m := row_match(raw):
            label, customer, date, clock_time, called, duration, amount = m.groups()
            day = days[date]
            if (
                day is not None
                and (day.when < 0 or (day.when == 0 and clock_time <= now_time))
                and (len(duration) < duration_digits or int(duration) <= max_duration)
                and (len(amount) < amount_digits or int(amount) <= max_amount)
            ):
                read += 1
                yield line, services[label], customer, day, clock_time, called, duration, amount
                continue
            cells = [label, customer, date + clock_time, called, duration, amount]
        elif '"' in raw:
            quoted = itertools.chain([raw], lines)
            line -= 1
            break
        else:
            # Without a quote, csv.reader's cells are the line split at its commas.
            row = raw.rstrip("\r\n")
            if not row:
                continue
            cells = row.split(",")
        read += 1
        if valid := _judged(line, cells, now, days, rejections):
            yield valid
    for cells in csv.reader(quoted):
        line += 1
        if not cells:
            continue
        read += 1
        if valid := _judged(line, cells, now, days, rejections):
            yield valid
    result.read = read


def _judged(
    line: int, cells: list[str], now: dt.datetime, days: _Days, rejections: _Rejections
) -> _Valid | None:
    """A row judged by rules in their order: valid, or None with its reason recorded."""
    if reason := _problem(cells, now):
        rejections.add(line, reason)
        return None
    label, customer, started, called, duration, amount = cells
    day = cast(_Day, days[started[:10]])  # a real date: _problem said so
    return line, SERVICE_BY_LABEL[label], customer, day, started[10:], called, duration, amount


def _problem(cells: list[str], now: dt.datetime) -> str | None:
    """Why a row is rejected: rules' checks in their order, the first that fails."""
    width = len(rules.HEADER)
    if len(cells) != width:
        return f"列の数が{len(cells)}です ({width}列が必要です)"
    if problem := next((p for c in cells if (p := rules.cell_problem(c))), None):
        return problem
    label, customer, started, called, duration, amount = cells
    if label not in SERVICE_BY_LABEL:
        return f"サービス「{label}」は不明です"
    if not rules.CUSTOMER_NUMBER.fullmatch(customer):
        return "お客様番号は14桁の数字です"
    m = rules.DATETIME.fullmatch(started)
    try:
        if m is None:
            raise ValueError
        at = dt.datetime(*map(int, m.groups()), tzinfo=clock.TOKYO)  # type: ignore[arg-type, misc]
    except ValueError:
        return "通話開始日時は YYYY-MM-DD HH:MM:SS の日時です"
    if at > now:
        return "通話開始日時が未来です"
    if p := rules.called_number_problem(called):
        return p
    if not rules.INTEGER.fullmatch(duration) or int(duration) > rules.MAX_DURATION:
        return f"通話時間(秒)は0〜{rules.MAX_DURATION}の整数です"
    if not rules.INTEGER.fullmatch(amount) or int(amount) > rules.MAX_AMOUNT:
        return f"金額(税別)は0〜{rules.MAX_AMOUNT}の整数(円)です"
    return None


def _unknown(customer: str) -> str:
    return f"お客様番号 {customer} の契約がありません"


# --- the import -------------------------------------------------------------------------------------


def calls_import(
    *,
    data: bytes | BinaryIO,
    file_name: str,
    actor: Actor,
    skip_invalid: bool = False,
    closed_months: Collection[dt.date] = (),
) -> ImportResult:
    """Validate every row of ``data`` — the file's bytes, or the file itself opened in binary mode
    (seekable: it is read twice) — then insert the valid rows in one transaction, audited
    (通話明細の取込) with the import's figures. Staff need ``calls.import_callrecord``; the system
    (``manage.py import_calls``) may always.

    ``closed_months`` are the months whose close has finished (billing, a layer above, says which:
    ``billing.selectors.closed_months``); their calls are accepted and the report says they go on
    the next open month's statement. While a month close runs the import waits for it
    (``locks.lock_for_import``); a close that outlasts the wait gives ``result.error``."""
    if not (actor.kind is ActorKind.SYSTEM or actor.may(STAFF_MAY_IMPORT)):
        raise Refused.page("この操作を行う権限がありません。")
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    result = ImportResult(record=None)
    try:
        encoding, sha256 = _sniff(stream)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            _check_header(text)
            job = _Job(result, file_name, sha256, actor, skip_invalid, set(closed_months))
            with transaction.atomic():
                lock_for_import()  # first: a month close and an import never interleave (locks.py)
                if connection.vendor == "postgresql":
                    job.postgresql(text)
                else:
                    job.sqlite(text)
        finally:
            text.detach()  # the caller's file stays open
    except UnicodeDecodeError:  # a byte that is not cp932 either, wherever it is in the file
        return ImportResult(record=None, error=NOT_ENCODED)
    except ImportError_ as exc:
        return ImportResult(record=None, error=str(exc))
    except CallsBusyError as exc:
        result.record = None
        result.error = str(exc)
    except _NothingImported:
        result.record = None
    return result


class _Job:
    """One import, inside its transaction."""

    def __init__(
        self,
        result: ImportResult,
        file_name: str,
        sha256: str,
        actor: Actor,
        skip_invalid: bool,
        closed_months: set[dt.date],
    ) -> None:
        self.result = result
        self.file_name = file_name
        self.sha256 = sha256
        self.actor = actor
        self.skip_invalid = skip_invalid
        self.closed_months = closed_months
        self.now = clock.now()
        self.rejections = _Rejections()

    def rows(self, text: Iterator[str]) -> Iterator[_Valid]:
        return _valid_rows(text, self.now, self.result, self.rejections)

    def decide(self, months: set[dt.date]) -> None:
        """All or nothing: with a rejected row and no ``skip_invalid``, the transaction is undone."""
        self.rejections.store(self.result)
        if self.result.rejected and not self.skip_invalid:
            raise _NothingImported
        self.result.late_months = sorted(months & self.closed_months)

    def new_record(self) -> CallImport:
        return CallImport.objects.create(
            file_name=self.file_name[:255],
            sha256=self.sha256,
            imported_by=self.actor.name[:150],
            imported_at=clock.now(),
        )

    def finish(self, record: CallImport, *, valid: int, inserted: int) -> None:
        result = self.result
        result.record = record
        result.imported = inserted
        result.present = valid - inserted
        record.rows_read = result.read
        record.rows_rejected = result.rejected_count
        record.rows_imported = result.imported
        record.rows_present = result.present
        record.report = result.report()
        record.save(update_fields=["rows_read", "rows_rejected", "rows_imported", "rows_present", "report"])
        audit_change(
            self.actor,
            AuditAction.CALLS_IMPORT,
            target=self.file_name[:100],
            details={
                "import": record.pk,
                "sha256": record.sha256,
                "read": result.read,
                "imported": result.imported,
                "present": result.present,
                "rejected": result.rejected_count,
            },
        )

    # --- PostgreSQL -------------------------------------------------------------------------------

    def postgresql(self, text: Iterator[str]) -> None:
        """COPY the valid rows into a temporary table as they are parsed (PostgreSQL parses their
        values on the other core meanwhile); one query for the months and the unknown customer
        numbers; decide; then one INSERT … SELECT."""
        with connection.cursor() as cursor:
            # Dropped at the end too: ON COMMIT DROP alone would leave it inside an outer transaction.
            cursor.execute("DROP TABLE IF EXISTS pg_temp.calls_staging")
            cursor.execute(
                "CREATE TEMP TABLE calls_staging (line integer, service text, customer text, "
                "started_at timestamptz, called_number text, duration_seconds integer, amount integer, "
                "call_month date) ON COMMIT DROP"
            )
            # The file's times are Japan's: the session's time zone says so while the COPY parses
            # them (on the other core), rather than a conversion of every row in the INSERT.
            cursor.execute("SELECT current_setting('TimeZone')")
            (zone,) = cursor.fetchone()
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [clock.TOKYO.key])
            with cursor.cursor.copy("COPY calls_staging FROM STDIN") as copy:
                # Validated values hold no tab, backslash or newline: COPY text needs no escaping.
                batch: list[str] = []
                for line, service, customer, day, clock_time, called, duration, amount in self.rows(text):
                    batch.append(
                        f"{line}\t{service}\t{customer}\t{day.iso}{clock_time}\t{called}\t{duration}\t{amount}"
                        f"\t{day.month}\n"
                    )
                    if len(batch) == CHUNK:
                        copy.write("".join(batch))
                        batch.clear()
                copy.write("".join(batch))
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
            # Autovacuum never analyses a temporary table, and without statistics the planner
            # guesses its size and contents blind; 0.2 s for a million rows.
            cursor.execute("ANALYZE calls_staging")
            cursor.execute(
                "SELECT s.call_month, c.id IS NULL, count(*) FROM calls_staging s "
                "LEFT JOIN contracts_contract c ON c.customer_number = s.customer GROUP BY 1, 2"
            )
            months, valid, unknown = set(), 0, 0
            for month, is_unknown, n in cursor.fetchall():
                if is_unknown:
                    unknown += n
                else:
                    months.add(month)
                    valid += n
            if unknown:
                cursor.execute(
                    "SELECT line, customer FROM calls_staging s WHERE NOT EXISTS "
                    "(SELECT FROM contracts_contract c WHERE c.customer_number = s.customer) "
                    "ORDER BY line LIMIT %s",
                    [REPORT_LINES],
                )
                listed = cursor.fetchall()
                for line, customer in listed:
                    self.rejections.add(line, _unknown(customer))
                self.rejections.count += unknown - len(listed)
        self.decide(months)
        record = self.new_record()
        self.finish(record, valid=valid, inserted=self._insert_postgresql(record.pk))

    def _insert_postgresql(self, import_id: int) -> int:
        """The staged rows of known contracts, each inserted unless present (a call twice in the
        file: its first line). In contract order, the table's indexes fill in a few sequential runs
        rather than at a million random places, and the foreign-key checks at the commit meet each
        contract's row in a row: a third less time than the file's order for a million calls."""
        table = CallRecord._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (contract_id, service, started_at, called_number, "  # noqa: S608 - the model's own table name
                "duration_seconds, amount, call_month, imported_id) "
                "SELECT c.id, s.service, s.started_at, s.called_number, s.duration_seconds, s.amount, "
                "s.call_month, %s "
                "FROM calls_staging s JOIN contracts_contract c ON c.customer_number = s.customer "
                "ORDER BY c.id, s.line "
                "ON CONFLICT (service, contract_id, started_at, called_number) DO NOTHING",
                [import_id],
            )
            inserted: int = cursor.rowcount
            cursor.execute("DROP TABLE calls_staging")
        return inserted

    # --- SQLite -------------------------------------------------------------------------------------

    def sqlite(self, text: Iterator[str]) -> None:
        """Insert the valid rows chunk by chunk as they are parsed, contract ids looked up per
        chunk; the transaction (which holds SQLite's write lock from its start) is undone at the
        end if a row was rejected."""
        record = self.new_record()
        before = CallRecord.objects.count()
        ids: dict[str, int | None] = {}  # customer number → contract id (None: no contract)
        months: set[dt.date] = set()
        valid = 0
        for chunk in itertools.batched(self.rows(text), CHUNK):
            if len(ids) > 100_000:  # bounded, like everything else kept while streaming
                ids.clear()
            missing = {row[2] for row in chunk} - ids.keys()
            ids.update(dict.fromkeys(missing))
            ids.update(
                Contract.objects.filter(customer_number__in=missing).values_list("customer_number", "pk")
            )
            calls = []
            for line, service, customer, day, clock_time, called, duration, amount in chunk:
                contract_id = ids[customer]
                if contract_id is None:
                    self.rejections.add(line, _unknown(customer))
                    continue
                month = day.date.replace(day=1)
                months.add(month)
                calls.append(
                    CallRecord(
                        contract_id=contract_id,
                        service=service,
                        started_at=dt.datetime.combine(
                            day.date, dt.time.fromisoformat(clock_time[1:]), tzinfo=clock.TOKYO
                        ),
                        called_number=called,
                        duration_seconds=int(duration),
                        amount=int(amount),
                        call_month=month,
                        imported_id=record.pk,
                    )
                )
            valid += len(calls)
            CallRecord.objects.bulk_create(calls, ignore_conflicts=True)
        self.decide(months)
        self.finish(record, valid=valid, inserted=CallRecord.objects.count() - before)
