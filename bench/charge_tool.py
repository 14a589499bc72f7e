"""In-process helpers of bench/charges: ``python -m bench.charge_tool <command>``.

month                 print last month (YYYY-MM, Asia/Tokyo): the month whose statements are charged
port                  print a free TCP port on 127.0.0.1
busy                  print how busy the CPUs are (percent) over one second
seed N                N principals + contracts, one issued statement each for last month (totals
                      1,100–9,900 yen), the month's close finished; set-based, revision triggers off
cards URL COUNT FILE  store COUNT test cards (4111…) in the gateway at URL (POST /sandbox/cards);
                      their references to FILE (no database)
methods FILE          one active PaymentMethod per contract, the cards of FILE round-robin, valid
                      through 12/2030
floor URL N FILE      the floor: N bare charges (the adapter's HTTP call, Idempotency-Key floor-<i>)
                      against the gateway at URL with BENCH_WORKERS client processes, cards of FILE
portal MONTH          the portal: ``manage.py charge_month MONTH``, then BENCH_WORKERS concurrent
                      ``manage.py jobs_worker --batch`` processes, timed, with their CPU
verify URL            the charges' states in our database and the gateway's own stats
profile URL K         K more charges (the month before last) run in this process, one worker: SQL
                      queries, SQL time, HTTP time and the rest, per charge
report                print the results and write them to results/charges-latest.txt

Every command that touches the database runs only against mypage_bench_charges (it refuses any
other). Gateway URLs must be on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import common

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH_DIR / "results"))
DATABASE_NAME = "mypage_bench_charges"
RATIO_GOAL = 0.5  # portal charges/s >= 0.5 x the floor's
BUSY_LIMIT = 10  # percent of the CPUs busy just before a phase: above this, the machine is not quiet
CARD_NUMBER = "4111111111111111"  # the test card that always succeeds
# Customer numbers of the benchmark's contracts: 61000000000000 + i, i = 1 … N.
BASE = 61000000000000
# Tables with row triggers that fire on INSERT (the contract revision): off during the load.
LOADED_TABLES = ["contracts_contract"]


def setup_django() -> None:
    common.setup_django(DATABASE_NAME, "charge_tool")


def loopback(url: str) -> str:
    if not url.startswith("http://127.0.0.1:"):
        sys.exit(f"bench.charge_tool talks only to a gateway on 127.0.0.1, not {url!r}")
    return url.rstrip("/")


last_month = common.last_month


def secret_key() -> str:
    return os.environ["GATEWAY_SECRET_KEY"]


def api(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {secret_key()}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_percent(seconds: float = 1.0) -> int:
    b0, t0 = cpu_times()
    time.sleep(seconds)
    b1, t1 = cpu_times()
    return round(100 * (b1 - b0) / (t1 - t0)) if t1 > t0 else 0


def process_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children (the gateway's gunicorn
    master and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid = int(text.split(" ", 1)[0])
        rest = text.rsplit(")", 1)[1].split()
        ppid = int(rest[1])
        if pid == root_pid or ppid == root_pid:
            total += int(rest[11]) + int(rest[12])
    return total / tick


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def backend_cpu() -> dict[int, int]:
    """CPU jiffies of each PostgreSQL backend connected to our database (from its process title,
    ``postgres: … postgres mypage_bench_charges 127.0.0.1(…) …``)."""
    found: dict[int, int] = {}
    needle = f" {DATABASE_NAME} ".encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes()
            if not title.startswith(b"postgres: ") or needle not in title:
                continue
            rest = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(cmdline.parent.name)] = int(rest[11]) + int(rest[12])
    return found


class PhaseMeter:
    """Wall time and CPU of a phase: the machine's (from /proc/stat), this process's children
    (clients or portal processes, once they have been waited for), the gateway's processes, and
    the PostgreSQL backends of our database (sampled every 0.5 s: a backend that ends between two
    samples loses its last 0.5 s at most)."""

    def __init__(self) -> None:
        self.gateway_pid = int(os.environ.get("BENCH_GATEWAY_PID") or 0)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for pid, ticks in backend_cpu().items():
                self._backends[pid] = max(self._backends.get(pid, 0), ticks)

    def __enter__(self) -> PhaseMeter:
        import threading

        self._baseline = backend_cpu()
        self._backends = dict(self._baseline)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self.busy0, self.total0 = cpu_times()
        self.children0 = children_cpu()
        self.gateway0 = process_cpu(self.gateway_pid) if self.gateway_pid else 0.0
        self.began = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.began
        busy1, _total1 = cpu_times()
        tick = os.sysconf("SC_CLK_TCK")
        self.machine_cpu = (busy1 - self.busy0) / tick
        self.children = children_cpu() - self.children0
        self.gateway = (process_cpu(self.gateway_pid) - self.gateway0) if self.gateway_pid else 0.0
        self._stop.set()
        self._sampler.join()
        for pid, ticks in backend_cpu().items():
            self._backends[pid] = max(self._backends.get(pid, 0), ticks)
        self.postgres = sum(t - self._baseline.get(pid, 0) for pid, t in self._backends.items()) / tick

    def as_dict(self, n: int) -> dict[str, Any]:
        other = max(self.machine_cpu - self.children - self.gateway - self.postgres, 0.0)
        per = 1000 / n if n else 0.0
        return {
            "seconds": round(self.seconds, 3),
            "cpu_machine_s": round(self.machine_cpu, 2),
            "cpu_clients_s": round(self.children, 2),
            "cpu_gateway_s": round(self.gateway, 2),
            "cpu_postgres_s": round(self.postgres, 2),
            "cpu_other_s": round(other, 2),
            "ms_per_charge": {
                "clients": round(self.children * per, 3),
                "gateway": round(self.gateway * per, 3),
                "postgres": round(self.postgres * per, 3),
                "other": round(other * per, 3),
                "machine": round(self.machine_cpu * per, 3),
            },
        }


def amount_of(i: int) -> int:
    """The total of the i-th statement: 1,100–9,900 yen (subtotal 1,000–9,000 in hundreds + 10 %)."""
    return (1000 + 100 * ((i * 7919) % 81)) * 11 // 10


# --- seed -----------------------------------------------------------------------------------------


def seed(n: int) -> dict[str, Any]:
    from django.db import connection

    month = last_month()
    first = month.first_day
    # Issued on the 1st of this month, 09:00 Tokyo; the close started and finished then.
    issued = dt.datetime.combine((month + 1).first_day, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=9)))
    d = {"n": n, "first": first, "issued": issued, "base": BASE}
    timings: dict[str, float] = {}

    def step(name: str, sql: str) -> None:
        began = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(sql, d)
            rows = cursor.rowcount
        timings[name] = time.monotonic() - began
        print(f"  {name}: {rows:,} rows, {timings[name]:.1f} s", file=sys.stderr)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM core_plan ORDER BY id")
        plans = [pk for (pk,) in cursor.fetchall()]
        for table in LOADED_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        step(
            "principals + contracts",
            common.contracts_sql(f"(ARRAY{plans})[1 + mod(substr(p.login_key, 8)::bigint, {len(plans)})]"),
        )
        step(
            "statements (last month)",
            """
            INSERT INTO billing_statement
                (contract_id, month, customer_number, subtotal, tax, total, tax_percent, issued_at)
            SELECT c.id, %(first)s, c.customer_number, x.subtotal, x.subtotal / 10,
                   x.subtotal + x.subtotal / 10, 10, %(issued)s
            FROM contracts_contract c,
                 LATERAL (SELECT 1000 + 100 * mod((c.customer_number::bigint - %(base)s) * 7919, 81)
                          AS subtotal) AS x
            """,
        )
        step(
            "month close (finished)",
            """
            INSERT INTO billing_monthclose (month, started_at, finished_at, contracts, statements, lines)
            VALUES (%(first)s, %(issued)s, %(issued)s, %(n)s, %(n)s, 0)
            """,
        )
    finally:
        with connection.cursor() as cursor:
            for table in LOADED_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    info = {"statements": n, "month": str(month), "seed_seconds": round(sum(timings.values()), 1)}
    (RESULTS / "charges-seed.json").write_text(json.dumps(info))
    return info


def cards(url: str, count: int, out: Path) -> None:
    refs = []
    for _ in range(count):
        status, body = api(
            url,
            "POST",
            "/sandbox/cards",
            {"number": CARD_NUMBER, "exp_month": 12, "exp_year": 2030, "holder_name": "TARO SHIKEN"},
        )
        if status != 201:
            sys.exit(f"POST /sandbox/cards: HTTP {status} {body}")
        refs.append(str(body["card"]["id"]))
    out.write_text(json.dumps(refs))
    print(f"  {count} cards stored in the gateway", file=sys.stderr)


def methods(cards_file: Path) -> None:
    from django.db import connection

    refs = json.loads(cards_file.read_text())
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO payments_paymentmethod
                (contract_id, status, gateway_card, brand, last4, exp_month, exp_year, holder_given,
                 holder_family, name_matched, flow_token, registered_at, decided_by)
            SELECT c.id, 'active', (%(cards)s::text[])[1 + mod(c.customer_number::bigint - %(base)s, %(k)s)],
                   'VISA', '1111', 12, 2030, 'TARO', 'SHIKEN', true, 'bench-flow-' || c.id,
                   timestamptz '2024-04-01 10:00+09', ''
            FROM contracts_contract c
            """,
            {"cards": refs, "base": BASE, "k": len(refs)},
        )
        rows = cursor.rowcount
        cursor.execute("ANALYZE")
        cursor.execute("CHECKPOINT")
    print(
        f"  payment methods: {rows:,} rows over {len(refs)} cards, {time.monotonic() - began:.1f} s "
        "(with ANALYZE, CHECKPOINT)",
        file=sys.stderr,
    )


# --- the floor ------------------------------------------------------------------------------------


def _floor_client(url: str, key: str, refs: list[str], n: int, counter: Any, results: Any) -> None:
    """One client: the adapter's call (urllib, a new connection each, the same headers and body
    shape, json both ways), for the next i until n."""
    ok = bad = 0
    while True:
        with counter.get_lock():
            i = counter.value
            counter.value += 1
        if i >= n:
            break
        body = {
            "card": refs[i % len(refs)],
            "amount": amount_of(i + 1),
            "currency": "jpy",
            "merchant_initiated": True,
            "metadata": {"statement": f"floor-{i}"},
        }
        headers = {
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Idempotency-Key": f"floor-{i}",
        }
        request = urllib.request.Request(  # noqa: S310 - loopback only
            url + "/v1/charges", data=json.dumps(body).encode(), method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError:
            bad += 1
            continue
        payload = json.loads(raw or b"{}")
        if status == 201 and payload.get("status") == "succeeded":
            ok += 1
        else:
            bad += 1
    with results.get_lock():
        results[0] += ok
        results[1] += bad


def floor(url: str, n: int, cards_file: Path) -> dict[str, Any]:
    refs = json.loads(cards_file.read_text())
    # The floor's clients: as many as the portal's workers, unless BENCH_FLOOR_CLIENTS says (to
    # compare with the portal's calls in flight, workers x batch_concurrency).
    workers = int(os.environ.get("BENCH_FLOOR_CLIENTS") or os.environ["BENCH_WORKERS"])
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    results = context.Array("q", 2)
    key = secret_key()
    with PhaseMeter() as meter:
        clients = [
            context.Process(target=_floor_client, args=(url, key, refs, n, counter, results))
            for _ in range(workers)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
    status, stats = api(url, "GET", "/v1/charges/stats")
    result = {
        "n": n,
        "clients": workers,
        "succeeded": results[0],
        "failed": results[1],
        "exit_codes": [c.exitcode for c in clients],
        "gateway_stats": stats if status == 200 else {"error": status},
        **meter.as_dict(n),
    }
    result["charges_per_s"] = round(n / meter.seconds, 1)
    (RESULTS / "charges-floor.json").write_text(json.dumps(result))
    print(
        f"  floor: {n:,} charges in {meter.seconds:.2f} s = {result['charges_per_s']:,.1f}/s "
        f"({results[0]:,} succeeded, {results[1]:,} failed)",
        file=sys.stderr,
    )
    return result


# --- the portal -----------------------------------------------------------------------------------


def portal(month: str) -> dict[str, Any]:
    """charge_month, then BENCH_WORKERS jobs_worker --batch at once (started when charge_month has
    returned: a --batch worker started earlier would find no job due and stop)."""
    if not os.environ.get("DATABASE_URL", "").endswith("/" + DATABASE_NAME):
        sys.exit(f"bench.charge_tool portal refuses to run on any database but {DATABASE_NAME!r}")
    workers = int(os.environ["BENCH_WORKERS"])
    python = sys.executable
    log_dir = RESULTS / "var"
    env = dict(os.environ)
    if os.environ.get("BENCH_PORTAL_PGOPTIONS"):
        # An experiment, not the benchmark: e.g. "-c synchronous_commit=off" for the portal's sessions.
        env["PGOPTIONS"] = os.environ["BENCH_PORTAL_PGOPTIONS"]
    with PhaseMeter() as meter:
        began = time.monotonic()
        made = subprocess.run(
            [python, "manage.py", "charge_month", month],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        enqueue_seconds = time.monotonic() - began
        if made.returncode != 0:
            sys.exit(f"charge_month failed ({made.returncode}): {made.stderr}")
        logs = [(log_dir / f"charges-worker-{k}.log").open("w") for k in range(workers)]
        procs = [
            subprocess.Popen(
                [python, "manage.py", "jobs_worker", "--batch", "--worker-id", f"bench-{k}"],
                cwd=ROOT,
                env=env,
                stdout=logs[k],
                stderr=subprocess.STDOUT,
            )
            for k in range(workers)
        ]
        ended = []
        for p in procs:
            p.wait()
            ended.append(time.monotonic() - began - enqueue_seconds)
        for f in logs:
            f.close()
    result = {
        "workers": workers,
        "charge_month_output": made.stdout.strip(),
        "charge_month_seconds": round(enqueue_seconds, 3),
        "workers_seconds": round(max(ended), 3),
        "first_worker_done_seconds": round(min(ended), 3),
        "worker_exit_codes": [p.returncode for p in procs],
        **meter.as_dict(int(made.stdout.split(":")[1].split()[0]) or 1),
    }
    (RESULTS / "charges-portal.json").write_text(json.dumps(result))
    print(
        f"  {result['charge_month_output']}\n  charge_month {enqueue_seconds:.2f} s, workers "
        f"{result['workers_seconds']:.2f} s (exit {result['worker_exit_codes']})",
        file=sys.stderr,
    )
    return result


def verify(url: str) -> dict[str, Any]:
    from django.db.models import Count

    from mypage.billing.charges import StatementCharge
    from mypage.billing.models import month_start

    first = month_start(last_month())
    rows = StatementCharge.objects.filter(month=first)
    by_status = dict(rows.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    by_state = dict(rows.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    attempts = dict(rows.values_list("attempts").annotate(n=Count("pk")).values_list("attempts", "n"))
    status, stats = api(url, "GET", "/v1/charges/stats")
    # The pace through the run: charges finished in each tenth of the time between the first and
    # the last (a claim query that slows down as the queue's dead rows pile up shows here).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH span AS (SELECT min(finished_at) AS a, max(finished_at) AS b FROM billing_statementcharge
                          WHERE month = %(first)s)
            SELECT width_bucket(extract(epoch FROM c.finished_at), extract(epoch FROM span.a),
                                extract(epoch FROM span.b) + 1e-6, 10) AS tenth,
                   count(*), extract(epoch FROM span.b - span.a)
            FROM billing_statementcharge c, span WHERE c.month = %(first)s AND c.finished_at IS NOT NULL
            GROUP BY 1, 3 ORDER BY 1
            """,
            {"first": first},
        )
        tenths = cursor.fetchall()
        cursor.execute("SHOW autovacuum")
        (autovacuum,) = cursor.fetchone()
    span = float(tenths[0][2]) if tenths else 0.0
    pace = [round(n / (span / 10), 1) if span else 0.0 for _t, n, _s in tenths]
    result = {
        "by_status": by_status,
        "by_state": by_state,
        "by_attempts": {str(k): v for k, v in attempts.items()},
        "gateway_stats": stats if status == 200 else {"error": status},
        "pace_per_tenth": pace,
        "finish_span_seconds": round(span, 2),
        "autovacuum": autovacuum,
        # How the jobs are run (core.jobs): charges per task, gateway calls at once per worker.
        "batch_size": getattr(StatementCharge, "batch_size", 1),
        "batch_concurrency": getattr(StatementCharge, "batch_concurrency", 1),
    }
    (RESULTS / "charges-verify.json").write_text(json.dumps(result))
    print(f"  {json.dumps(result)}", file=sys.stderr)
    return result


# --- profile --------------------------------------------------------------------------------------


def _kind(sql: str) -> str:
    s = sql.lstrip().upper()
    if s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
        return "savepoint"
    table = "task" if "DBTASKRESULT" in s else "charge" if "BILLING_STATEMENTCHARGE" in s else "other"
    verb = s.split(None, 1)[0]
    return f"{verb} {table}"


def month_start_of(month: Any) -> dt.date:
    from mypage.billing.models import month_start

    return month_start(month)


def statements_for(month: Any, k: int) -> None:
    """Issued statements of ``month`` (1,100 yen) for the first K contracts, the close finished."""
    from django.db import connection

    from mypage.billing.models import month_start

    first = month_start(month)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_statement
                (contract_id, month, customer_number, subtotal, tax, total, tax_percent, issued_at)
            SELECT c.id, %(first)s, c.customer_number, 1000, 100, 1100, 10, now()
            FROM contracts_contract c ORDER BY c.id LIMIT %(k)s
            """,
            {"first": first, "k": k},
        )
        cursor.execute(
            "INSERT INTO billing_monthclose (month, started_at, finished_at, contracts, statements, lines) "
            "VALUES (%(first)s, now(), now(), %(k)s, %(k)s, 0)",
            {"first": first, "k": k},
        )


def profile(url: str, k: int) -> dict[str, Any]:
    """K charges of the month before last for the first K contracts, made by one in-process
    JobsWorker, as jobs_worker runs them: every SQL statement counted and timed (by kind and
    table), every COMMIT timed, the parts of the run (task claim, batch or job claim, gateway calls,
    records, task finished) timed with their CPU, the worker's start-up recovery apart; the rest
    is Python (the task framework, logging, the loop). Then cProfile over a few more charges."""
    import cProfile
    import logging
    import pstats
    import threading
    from contextlib import contextmanager

    from django.db import connection
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    from mypage.billing.collection import charges_make
    from mypage.core import jobs as jobs_module
    from mypage.core import tasks as tasks_module
    from mypage.core import worker as worker_module
    from mypage.core.worker import JobsWorker
    from mypage.payments import adapters

    # The library's INFO lines (two per task) would drown the output of this command.
    logging.getLogger("django.tasks").setLevel(logging.WARNING)
    from mypage.core.jobs import JobState, job_models

    month = last_month() + -1
    statements_for(month, k)
    # Jobs left queued by the portal phase would be run here too: say so, and count per attempt.
    leftover = sum(m._default_manager.filter(state=JobState.QUEUED).count() for m in job_models())

    stats: dict[str, list[float]] = {}
    recovery_stats: dict[str, list[float]] = {}  # the worker's start-up recovery, apart
    trace: list[str] = []
    recovering = False
    # The parts of a worker's run: [calls, wall s, CPU s, statements, commits]; a part entered
    # inside another (a job's record inside a batch) is "nested", and "rest" is what the top-level
    # parts leave. Statements and commits go to the innermost part open in the worker's thread.
    parts: dict[str, list[float]] = {}
    nested: set[str] = set()
    current = ["rest"]
    lock = threading.Lock()

    @contextmanager
    def part(name: str) -> Any:
        previous = current[0]
        if previous != "rest":
            nested.add(name)
        current[0] = name
        entry = parts.setdefault(name, [0, 0.0, 0.0, 0, 0])
        began, cpu0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            entry[0] += 1
            entry[1] += time.perf_counter() - began
            entry[2] += time.process_time() - cpu0
            current[0] = previous

    def in_part(name: str, fn: Any) -> Any:
        def inner(*args: Any, **kwargs: Any) -> Any:
            with part(name):
                return fn(*args, **kwargs)

        return inner

    def calls_part(name: str, fn: Any) -> Any:
        """The gateway calls, which a batch makes on several threads: timed per call (CPU by
        thread), summed; they leave the worker thread's part alone."""

        def inner(*args: Any, **kwargs: Any) -> Any:
            inside = current[0] != "rest"
            began, cpu0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    entry = parts.setdefault(name, [0, 0.0, 0.0, 0, 0])
                    entry[0] += 1
                    entry[1] += time.perf_counter() - began
                    entry[2] += time.thread_time() - cpu0
                    if inside:
                        nested.add(name)

        return inner

    real_exclusive = db_worker.exclusive_transaction

    @contextmanager
    def claimed_task(*args: Any, **kwargs: Any) -> Any:
        with part("task claim (django_tasks_db)"), real_exclusive(*args, **kwargs) as value:
            yield value

    calls_name = "gateway calls (each, summed over threads)"
    patches = [
        (db_worker, "exclusive_transaction", claimed_task),
        (jobs_module, "job_claim", in_part("job claim", jobs_module.job_claim)),
        (adapters.SandboxGateway, "charge", calls_part(calls_name, adapters.SandboxGateway.charge)),
        (jobs_module, "job_record", in_part("job record + on_done", jobs_module.job_record)),
        (
            DBTaskResult,
            "set_successful",
            in_part("task finished (django_tasks_db)", DBTaskResult.set_successful),
        ),
    ]
    if hasattr(tasks_module, "job_run_many"):  # jobs in batches (one task, one claim, one record)
        patches.append(
            (
                tasks_module,
                "job_run_many",
                in_part("batch: claim, calls, record (job_run_many)", tasks_module.job_run_many),
            )
        )
    originals = [(owner, name, getattr(owner, name)) for owner, name, _new in patches]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = (recovery_stats if recovering else stats).setdefault(_kind(sql), [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - began
            if not recovering and current[0] in parts:
                parts[current[0]][3] += 1
            if len(trace) < 400 and not recovering:
                text = " ".join(sql.split())
                trace.append(text if len(text) <= 150 else f"{text[:60]} … {text[-85:]}")

    commits = [0, 0.0]
    recovery_commits = [0, 0.0]
    real_commit = connection.commit

    def timed_commit() -> None:
        began = time.perf_counter()
        try:
            real_commit()
        finally:
            counter = recovery_commits if recovering else commits
            counter[0] += 1
            counter[1] += time.perf_counter() - began
            if not recovering and current[0] in parts:
                parts[current[0]][4] += 1

    http = [0, 0.0]
    real_call = adapters.SandboxGateway._call

    def timed_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return real_call(self, *args, **kwargs)
        finally:
            with lock:
                http[0] += 1
                http[1] += time.perf_counter() - began

    recovery = [0.0, 0.0]  # seconds, CPU seconds
    real_recover = worker_module.jobs_recover

    def timed_recover(**kwargs: Any) -> int:
        nonlocal recovering
        recovering = True
        began, cpu0 = time.perf_counter(), time.process_time()
        try:
            return real_recover(**kwargs)
        finally:
            recovery[0] += time.perf_counter() - began
            recovery[1] += time.process_time() - cpu0
            recovering = False

    # Enqueue (charges_make), measured apart.
    connection.commit = timed_commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            began, cpu0 = time.perf_counter(), time.process_time()
            run = charges_make(month=month)
            enqueue_s, enqueue_cpu = time.perf_counter() - began, time.process_time() - cpu0
        enqueue = {kind: (n, t) for kind, (n, t) in stats.items()}
        enqueue_commits = list(commits)
        stats.clear()
        trace.clear()
        commits[:] = [0, 0.0]

        adapters.SandboxGateway._call = timed_call  # type: ignore[method-assign]
        worker_module.jobs_recover = timed_recover  # type: ignore[assignment]
        for owner, name, new in patches:
            setattr(owner, name, new)
        with connection.execute_wrapper(wrapper):
            began, cpu0 = time.perf_counter(), time.process_time()
            JobsWorker(batch=True, interval=0.1, worker_id="bench-profile").run()
            cpu_s, run_s = time.process_time() - cpu0, time.perf_counter() - began
    finally:
        for owner, name, old in originals:
            setattr(owner, name, old)
        adapters.SandboxGateway._call = real_call  # type: ignore[method-assign]
        worker_module.jobs_recover = real_recover
        connection.commit = real_commit  # type: ignore[method-assign]
    # Per attempt made (a job claimed), which is per charge unless jobs were left over.
    queued = int(parts.get("job record + on_done", [run.queued])[0]) or 1
    made = run.queued or 1
    sql_n = sum(n for n, _t in stats.values())
    sql_s = sum(t for _n, t in stats.values())
    charge_s = run_s - recovery[0]

    # Round trips and commits on their own, for scale: SELECT 1, and an empty transaction that
    # writes (a one-row UPDATE, then COMMIT: one WAL flush).
    with connection.cursor() as cursor:
        began = time.perf_counter()
        for _ in range(200):
            cursor.execute("SELECT 1")
        select1_ms = 1000 * (time.perf_counter() - began) / 200
        began = time.perf_counter()
        for _ in range(200):
            cursor.execute(
                "UPDATE billing_monthclose SET lines = lines WHERE month = %s", [month_start_of(month)]
            )
        update_autocommit_ms = 1000 * (time.perf_counter() - began) / 200

    # Where the Python time goes: cProfile over a few more charges (three months back), apart from
    # the timed run above (cProfile slows Python down, so its times are only proportions).
    statements_for(month + -1, min(k, 300))
    charges_make(month=month + -1)
    profiler = cProfile.Profile()
    profiler.enable()
    JobsWorker(batch=True, interval=0.1, worker_id="bench-cprofile").run()
    profiler.disable()
    with (RESULTS / "charges-profile.txt").open("w") as out:
        out.write("The SQL of the in-process worker's first charges (its start-up recovery left out):\n")
        for q in trace[:30]:
            out.write(f"  {q}\n")
        out.write("\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
    result = {
        "charges": run.queued,
        "attempts": queued,
        "leftover_jobs": leftover,
        "select1_ms": round(select1_ms, 3),
        "update_commit_ms": round(update_autocommit_ms, 3),
        "enqueue": {
            "ms_per_charge": round(1000 * enqueue_s / made, 3),
            "cpu_ms_per_charge": round(1000 * enqueue_cpu / made, 3),
            "queries_per_charge": round(sum(n for n, _t in enqueue.values()) / made, 2),
            "sql_ms_per_charge": round(1000 * sum(t for _n, t in enqueue.values()) / made, 3),
            "commits": enqueue_commits[0],
            "by_kind": {kind: round(n / made, 2) for kind, (n, _t) in sorted(enqueue.items())},
        },
        "recovery": {
            "seconds": round(recovery[0], 3),
            "cpu_seconds": round(recovery[1], 3),
            "queries": int(sum(n for n, _t in recovery_stats.values())),
            "commits": recovery_commits[0],
        },
        "worker": {
            "ms_per_charge": round(1000 * charge_s / queued, 3),
            "cpu_ms_per_charge": round(1000 * (cpu_s - recovery[1]) / queued, 3),
            "queries_per_charge": round(sql_n / queued, 2),
            "commits_per_charge": round(commits[0] / queued, 2),
            "commit_ms_per_charge": round(1000 * commits[1] / queued, 3),
            "sql_ms_per_charge": round(1000 * sql_s / queued, 3),
            "http_calls": http[0],
            "http_ms_per_charge": round(1000 * http[1] / queued, 3),
            "rest_ms_per_charge": round(1000 * (charge_s - sql_s - http[1] - commits[1]) / queued, 3),
            "by_kind": {
                kind: {"per_charge": round(n / queued, 2), "ms_per_charge": round(1000 * t / queued, 3)}
                for kind, (n, t) in sorted(stats.items(), key=lambda kv: -kv[1][1])
            },
            "parts": {
                name: {
                    "ms": round(1000 * wall / queued, 3),
                    "cpu_ms": round(1000 * cpu / queued, 3),
                    "statements": round(n_sql / queued, 2),
                    "commits": round(n_commit / queued, 2),
                }
                for name, (_calls, wall, cpu, n_sql, n_commit) in parts.items()
            },
        },
    }
    shown = result["worker"]["parts"]
    for name in nested & set(shown):
        shown[name]["nested"] = True
    top = [v for name, v in shown.items() if name not in nested]
    w = result["worker"]
    shown["the rest (task framework, logging, loop)"] = {
        "ms": round(w["ms_per_charge"] - sum(v["ms"] for v in top), 3),
        "cpu_ms": round(w["cpu_ms_per_charge"] - sum(v["cpu_ms"] for v in top), 3),
        "statements": round(w["queries_per_charge"] - sum(v["statements"] for v in shown.values()), 2),
        "commits": round(w["commits_per_charge"] - sum(v["commits"] for v in shown.values()), 2),
    }
    (RESULTS / "charges-profile.json").write_text(json.dumps(result))
    print(f"  {json.dumps(result)}", file=sys.stderr)
    return result


# --- report ---------------------------------------------------------------------------------------


def report() -> None:
    def load(name: str) -> dict[str, Any]:
        path = RESULTS / f"charges-{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    seed_info, fl, po, ve, pr = (load(x) for x in ("seed", "floor", "portal", "verify", "profile"))
    env = {
        k: os.environ.get(k, "")
        for k in (
            "BENCH_CPU",
            "BENCH_CORES",
            "BENCH_PG",
            "BENCH_WORKERS",
            "BENCH_GATEWAY_WORKERS",
            "BENCH_GATEWAY_THREADS",
            "BENCH_CARDS",
            "BENCH_LOAD",
            "BENCH_BUSY_FLOOR",
            "BENCH_BUSY_PORTAL",
            "BENCH_PORTAL_PGOPTIONS",
        )
    }
    n = int(seed_info["statements"])
    portal_s = po["charge_month_seconds"] + po["workers_seconds"]
    portal_rate = n / portal_s
    workers_rate = n / po["workers_seconds"]
    floor_rate = fl["charges_per_s"]
    ratio = portal_rate / floor_rate if floor_rate else 0.0
    gs = ve.get("gateway_stats", {})
    paid = ve.get("by_status", {}).get("paid", 0)
    done = ve.get("by_state", {}).get("done", 0)
    doubles = int(gs.get("keys_with_more_than_one_success", -1)) + int(
        gs.get("statements_charged_more_than_once", -1)
    )
    double_ok = doubles == 0
    all_ok = gs.get("succeeded") == n and paid == n
    # A worker stopped from outside (a SIGTERM it logs and obeys) leaves charges undone.
    stopped = [
        log.name
        for log in sorted((RESULTS / "var").glob("charges-worker-*.log"))
        if "SIGTERM" in log.read_text(errors="replace")
    ]
    again = (
        (RESULTS / "charges-again.txt").read_text().strip()
        if (RESULTS / "charges-again.txt").exists()
        else ""
    )

    def busy(key: str) -> str:
        value = env[key] or "?"
        warn = value != "?" and int(value) > BUSY_LIMIT
        return f"{value}%" + (" (not quiet)" if warn else "")

    def cpu_line(label: str, phase: dict[str, Any], clients: str) -> str:
        m = phase["ms_per_charge"]
        return (
            f"  {label:<7} {clients} {m['clients']:.2f} + gateway {m['gateway']:.2f} + PostgreSQL "
            f"{m['postgres']:.2f} = {m['clients'] + m['gateway'] + m['postgres']:.2f} ms "
            f"(the whole machine: {m['machine']:.2f}; the rest is other processes)"
        )

    out = [
        f"MyPage card-collection benchmark  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {env['BENCH_CPU'] or '?'}, {env['BENCH_CORES'] or '?'} cores; PostgreSQL "
        f"{env['BENCH_PG'] or '?'} (127.0.0.1); load average at start {env['BENCH_LOAD'] or '?'}",
        f"CPU busy in the second before: the floor {busy('BENCH_BUSY_FLOOR')}, "
        f"the portal {busy('BENCH_BUSY_PORTAL')}"
        + (
            " — WARNING: the machine was not quiet"
            if any(
                (env[k] or "0").isdigit() and int(env[k] or 0) > BUSY_LIMIT
                for k in ("BENCH_BUSY_FLOOR", "BENCH_BUSY_PORTAL")
            )
            else ""
        ),
        f"sandbox gateway: {env['BENCH_GATEWAY_WORKERS']} workers x {env['BENCH_GATEWAY_THREADS']} threads "
        f"(gthread), a fresh SQLite file per phase; {env['BENCH_CARDS']} cards (4111…), round-robin",
        "",
        f"data: {n:,} issued statements of {seed_info['month']} (1,100–9,900 yen), one active card each "
        f"(generated in {seed_info['seed_seconds']} s)",
        f"concurrency: {fl['clients']} floor client processes / {env['BENCH_WORKERS']} jobs_worker "
        f"--batch processes ({ve.get('batch_size', 1)} charges per task, up to "
        f"{ve.get('batch_concurrency', 1)} gateway calls at once per worker: up to "
        f"{int(env['BENCH_WORKERS'] or 0) * int(ve.get('batch_concurrency', 1))} in flight)"
        + (
            f"; EXPERIMENT: the portal's sessions with PGOPTIONS={env['BENCH_PORTAL_PGOPTIONS']!r}"
            if env["BENCH_PORTAL_PGOPTIONS"]
            else ""
        ),
        "",
        f"  floor (bare POST /v1/charges, urllib)  {fl['seconds']:8.2f} s   {floor_rate:9,.1f} charges/s   "
        f"({fl['succeeded']:,} succeeded, {fl['failed']:,} failed)",
        f"  portal: charge_month + jobs_worker    {portal_s:8.2f} s   {portal_rate:9,.1f} charges/s",
        f"    charge_month {po['charge_month_seconds']:.2f} s ({po['charge_month_output']})",
        f"    jobs_worker x {po['workers']} {po['workers_seconds']:.2f} s   ({workers_rate:,.1f} charges/s; "
        f"exit codes {po['worker_exit_codes']})",
        f"  ratio portal / floor                  {ratio:8.2f}",
        "",
        "CPU per charge (all processes; /proc):",
        cpu_line("floor", fl, "clients"),
        cpu_line("portal", po, "charge_month + jobs_workers"),
        "",
        f"portal records: {paid:,} of {n:,} StatementCharge paid, {done:,} done; "
        f"attempts {ve.get('by_attempts')}",
        f"gateway records: {gs.get('succeeded')} succeeded, {gs.get('declined')} declined, "
        f"keys with more than one success {gs.get('keys_with_more_than_one_success')}, "
        f"statements charged more than once {gs.get('statements_charged_more_than_once')}",
        f"charge_month again: {again}",
        f"pace: charges/s finished in each tenth of the {ve.get('finish_span_seconds')} s from the first "
        f"to the last: {ve.get('pace_per_tenth')} (autovacuum {ve.get('autovacuum')} on this PostgreSQL)",
    ]
    if pr:
        w, e, r = pr["worker"], pr["enqueue"], pr["recovery"]
        out += [
            "",
            f"profile: {pr['charges']:,} more charges (the month before last), one in-process worker, "
            "as jobs_worker runs them (figures per charge; the SQL times include the round trip)"
            + (
                f"; {pr['leftover_jobs']} jobs left queued by the portal phase ran too "
                f"({pr['attempts']:,} attempts, the figures are per attempt)"
                if pr.get("leftover_jobs")
                else ""
            ),
            f"  enqueue (charges_make)  {e['ms_per_charge']:7.3f} ms (CPU {e['cpu_ms_per_charge']:.3f}): "
            f"{e['queries_per_charge']} statements ({e['sql_ms_per_charge']:.3f} ms), "
            f"{e['commits']} commits in all: {e['by_kind']}",
            f"  worker start-up recovery {r['seconds']:.2f} s (CPU {r['cpu_seconds']:.2f} s), "
            f"{r['queries']:,} statements, {r['commits']:,} commits; once per jobs_worker, at its start",
            f"  worker, per charge: {w['ms_per_charge']:.3f} ms, of it CPU of the worker "
            f"{w['cpu_ms_per_charge']:.3f} ms; {w['queries_per_charge']} statements "
            f"({w['sql_ms_per_charge']:.3f} ms in execute), {w['commits_per_charge']} commits "
            f"({w['commit_ms_per_charge']:.3f} ms; autocommitted statements not counted); the gateway call "
            f"{w['http_ms_per_charge']:.3f} ms",
            f"    {'part (per charge)':<50} {'wall ms':>8} {'CPU ms':>8} {'statements':>11} {'commits':>8}",
        ]
        for name, v in w.get("parts", {}).items():
            label = f"  of it: {name}" if v.get("nested") else name
            out.append(
                f"    {label:<50} {v['ms']:8.3f} {v['cpu_ms']:8.3f} {v['statements']:11.2f} "
                f"{v['commits']:8.2f}"
            )
        out.append(
            "    statements by kind: "
            + ", ".join(
                f"{kind} {v['per_charge']}" for kind, v in w["by_kind"].items() if v["per_charge"] >= 0.05
            )
        )
        out.append(
            f"  for scale: SELECT 1 {pr['select1_ms']:.3f} ms; a one-row UPDATE autocommitted "
            f"(one WAL flush) {pr['update_commit_ms']:.3f} ms"
        )
    out += [
        "",
        f"{'PASS' if ratio >= RATIO_GOAL else 'FAIL'}: portal >= {RATIO_GOAL:.2f} x the floor: {ratio:.2f} "
        f"({portal_rate:,.1f} / {floor_rate:,.1f} charges/s)",
        f"{'PASS' if double_ok else 'FAIL'}: double charges: {doubles if doubles >= 0 else '?'} "
        "(the gateway's keys with more than one success + statements charged more than once)",
        f"{'PASS' if all_ok else 'FAIL'}: every statement charged: {gs.get('succeeded')} successes at the "
        f"gateway and {paid:,} paid in the portal, for {n:,} statements"
        + (
            f" — WARNING: {len(stopped)} worker(s) were sent SIGTERM from outside the benchmark "
            f"({', '.join(stopped)}), and stopped"
            if stopped
            else ""
        ),
        f"{'PASS' if again.startswith(seed_info['month'] + ': 0 charges queued') else 'FAIL'}: charge_month "
        "again queues nothing (0 charges queued)",
    ]
    text = "\n".join(out)
    print(text)
    (RESULTS / "charges-latest.txt").write_text(text + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    command, *args = argv
    if command == "port":
        print(free_port())
    elif command == "busy":
        print(busy_percent())
    elif command == "cards":
        cards(loopback(args[0]), int(args[1]), Path(args[2]))
    elif command == "floor":
        floor(loopback(args[0]), int(args[1]), Path(args[2]))
    elif command == "portal":
        portal(args[0])
    elif command == "report":
        report()
    else:
        setup_django()
        if command == "month":
            print(last_month())
        elif command == "seed":
            seed(int(args[0]))
        elif command == "methods":
            methods(Path(args[0]))
        elif command == "verify":
            verify(loopback(args[0]))
        elif command == "profile":
            profile(loopback(args[0]), int(args[1]))
        else:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
