"""In-process helpers of bench/run: ``python -m bench.tool <command>`` (bench.settings).

seed              create the benchmark contracts (1 and 6 account IDs) in the mypage_bench database
session NUMBER    log a customer number in (force_login) and print its session cookie
csrf BASE_URL     GET BASE_URL/login/ and print the csrftoken cookie and the form's token
queries           count the SQL queries of GET /overview/ for both contracts -> results/queries.json
hashcost [N]      time make_password/check_password of the first hasher -> results/hashcost.json
profile [N]       where the time of GET /overview/ goes, in-process (BENCH_PROFILE=1 bench/run)
report            print the results table and write it to results/latest.txt
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import statistics
import sys
import time
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH_DIR / "results"))
DATABASE_NAME = "mypage_bench"

PASSWORD = "bench-password-123"
ACCOUNT_PASSWORD = "bench-account-password-123"
CONTRACTS = {
    # customer number: number of account IDs. Both on a MULTI plan (up to 6 account IDs).
    "70000000000001": 1,
    "70000000000006": 6,
}
PLAN_CODE = "spaaqs_multi"
OVERVIEW_MAX_QUERIES = 10  # "a small count": the goal is the same count for 1 and 6 account IDs, ≤ this

# OWASP Password Storage Cheat Sheet, Argon2id minimum: m=19 MiB, t=2, p=1.
OWASP_MIN = {"memory_kib": 19 * 1024, "time_cost": 2, "parallelism": 1}
HASH_GOAL_MS = 30.0
RATIO_GOAL = 0.60
BUSY_LIMIT = 10  # percent of the CPUs busy while the server is idle: above this, the machine is not quiet


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    name = settings.DATABASES["default"]["NAME"]
    if name != DATABASE_NAME:
        sys.exit(f"bench.tool refuses to run on database {name!r}: only {DATABASE_NAME!r} (set DATABASE_URL)")


# --- seed -----------------------------------------------------------------------------------------


def seed() -> None:
    """Two holders like the tests' make_contract/make_account, with mail, web space, options."""
    from django.db import transaction

    from mypage.accounts.models import AccountId, Permission
    from mypage.contracts.models import Contract
    from mypage.core.models import Plan, Product
    from mypage.mail.models import MailAddress, MailKind, OnlineStorage, WebSpace
    from mypage.principals.models import PrincipalKind
    from mypage.principals.services import principal_create
    from mypage.subscriptions.models import Subscription

    plan = Plan.objects.select_related("brand").get(code=PLAN_CODE)
    products = {p.code: p for p in Product.objects.all()}
    applied = dt.date(2024, 4, 1)
    with transaction.atomic():
        for number, n_accounts in CONTRACTS.items():
            contract = Contract.objects.create(
                customer_number=number,
                principal=principal_create(kind=PrincipalKind.HOLDER, identifier=number, password=PASSWORD),
                plan=plan,
                family_name="試験",
                given_name="太郎",
                family_name_kana="シケン",
                given_name_kana="タロウ",
                install_address="東京都千代田区1-1 ベンチマークマンション101",
                phone="03-0000-0000",
            )
            for code in ("mail_pack", "remote_support", "warranty_basic"):
                Subscription.objects.create(product=products[code], contract=contract, applied_on=applied)
            for i in range(1, n_accounts + 1):
                account_id = f"bench{n_accounts}-{i:02d}"
                account = AccountId.objects.create(
                    account_id=account_id,
                    contract=contract,
                    principal=principal_create(
                        kind=PrincipalKind.ACCOUNT, identifier=account_id, password=ACCOUNT_PASSWORD
                    ),
                    family_name="試験",
                    given_name=f"花子{i}",
                    family_name_kana="シケン",
                    given_name_kana="ハナコ",
                    username=f"試験花子{i}",
                    permission=Permission.ADMIN if i == 1 else Permission.USER,
                )
                # A mix of services, so that every branch of the account detail renders.
                if i % 3 != 0:
                    MailAddress.objects.create(
                        account=account,
                        kind=MailKind.ISP,
                        address=f"{account_id}@{plan.brand.mail_domains[0]}",
                    )
                    Subscription.objects.create(
                        product=products["security_360"],
                        contract=contract,
                        account=account,
                        applied_on=applied,
                    )
                elif i == 3:
                    MailAddress.objects.create(
                        account=account, kind=MailKind.EXTERNAL, address="family@example.com"
                    )
                if i % 2 == 1:
                    WebSpace.objects.create(account=account)
                if i == 1:
                    OnlineStorage.objects.create(account=account)
                    Subscription.objects.create(
                        product=products["mailbox_10gb"],
                        contract=contract,
                        account=account,
                        applied_on=applied,
                    )
            print(f"seeded {number}: plan {PLAN_CODE}, {n_accounts} account ID(s), password {PASSWORD!r}")


# --- session / csrf -------------------------------------------------------------------------------


def session(number: str) -> None:
    from django.test import Client

    from mypage.contracts.models import Contract

    client = Client()
    client.force_login(Contract.objects.get(customer_number=number).principal)
    print(client.cookies["sessionid"].value)


def csrf(base_url: str) -> None:
    """The csrftoken cookie and a masked token from the login form, as a browser would get them."""
    with urllib.request.urlopen(f"{base_url}/login/", timeout=10) as response:  # noqa: S310 (127.0.0.1 only)
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        html = response.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if "csrftoken" not in cookies or match is None:
        sys.exit("csrf: no csrftoken cookie or csrfmiddlewaretoken in GET /login/")
    print(cookies["csrftoken"].value, match.group(1))


# --- queries --------------------------------------------------------------------------------------


def _overview_client(number: str) -> Any:
    from django.test import Client

    from mypage.contracts.models import Contract

    client = Client(HTTP_HOST="localhost")
    client.force_login(Contract.objects.get(customer_number=number).principal)
    return client


def queries() -> None:
    """SQL queries of GET /overview/ for 1 and 6 account IDs: rendered (the page cache off, as on
    the first view after a change) and served from the page cache."""
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    def measure(client: Any, n_accounts: int) -> tuple[int, list[str], str]:
        warm = client.get("/overview/")  # the first page of a process also loads the catalogue cache
        assert warm.status_code == 200, warm.status_code
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/overview/")
        assert response.status_code == 200, response.status_code
        body = response.content.decode()
        assert body.count('<details class="account"') == n_accounts, "the page does not list every account ID"
        return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], body

    out: dict[str, Any] = {}
    for number, n_accounts in CONTRACTS.items():
        client = _overview_client(number)
        with override_settings(PAGE_CACHE_SECONDS=0):
            count, sql, body = measure(client, n_accounts)
        cached_count, cached_sql, _ = measure(client, n_accounts)
        out[str(n_accounts)] = {
            "customer_number": number,
            "count": count,
            "sql": sql,
            "cached_count": cached_count,
            "cached_sql": cached_sql,
            "bytes": len(body.encode()),
        }
        print(
            f"overview, {n_accounts} account ID(s): {count} queries rendered, {cached_count} from the page"
            f" cache, {len(body)} chars"
        )
    (RESULTS / "queries.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))


# --- hash cost ------------------------------------------------------------------------------------


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered) * 1000,
        "mean": statistics.fmean(ordered) * 1000,
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000,
        "min": ordered[0] * 1000,
    }


def hashcost(runs: int = 50) -> None:
    from django.conf import settings
    from django.contrib.auth.hashers import check_password, get_hasher, make_password

    from mypage.contracts.models import Contract
    from mypage.principals.hashers import MyPageArgon2Hasher

    hasher = get_hasher("default")  # the first of PASSWORD_HASHERS
    make_password(PASSWORD)  # load argon2 once
    made, checked = [], []
    encoded = ""
    for _ in range(runs):
        t0 = time.perf_counter()
        encoded = make_password(PASSWORD)
        made.append(time.perf_counter() - t0)
    for _ in range(runs):
        t0 = time.perf_counter()
        ok = check_password(PASSWORD, encoded)
        checked.append(time.perf_counter() - t0)
        assert ok
    decoded = hasher.decode(encoded)
    stored = Contract.objects.get(customer_number="70000000000006").principal.password
    out = {
        "hasher": settings.PASSWORD_HASHERS[0],
        "is_mypage_hasher": isinstance(hasher, MyPageArgon2Hasher),
        "algorithm": encoded.split("$")[1],
        "memory_kib": MyPageArgon2Hasher.memory_cost,
        "time_cost": MyPageArgon2Hasher.time_cost,
        "parallelism": MyPageArgon2Hasher.parallelism,
        "encoded_params": {k: decoded[k] for k in ("memory_cost", "time_cost", "parallelism")},
        "stored_hash_needs_update": hasher.must_update(stored),
        "runs": runs,
        "make_password_ms": _ms(made),
        "check_password_ms": _ms(checked),
    }
    (RESULTS / "hashcost.json").write_text(json.dumps(out, indent=2))
    print(
        f"{out['algorithm']} m={out['memory_kib']} KiB t={out['time_cost']} p={out['parallelism']}: "
        f"make {out['make_password_ms']['median']:.1f} ms, check {out['check_password_ms']['median']:.1f} ms "
        f"(median of {runs})"
    )


# --- profile (for a human, when the ratio misses its goal) ----------------------------------------


def profile(runs: int = 1000) -> None:
    """Per request, in-process (no HTTP server): total, SQL, and the overview's parts."""
    from importlib import import_module

    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory

    from mypage.accounts.backends import PRINCIPAL_RELATED, PrincipalBackend
    from mypage.accounts.permissions import Feature, Verdict
    from mypage.accounts.selectors import viewer_for
    from mypage.contracts.models import Contract
    from mypage.portal.navigation import menu_for
    from mypage.portal.pagecache import page_key
    from mypage.principals.models import Principal
    from mypage.subscriptions.selectors import contract_overview

    sql_time = [0.0]
    sql_count = [0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - t0
            sql_count[0] += 1

    def run(label: str, fn: Any) -> None:
        for _ in range(20):
            fn()
        sql_time[0], sql_count[0] = 0.0, 0
        with connection.execute_wrapper(timed):
            t0 = time.perf_counter()
            for _ in range(runs):
                fn()
            total = time.perf_counter() - t0
        print(
            f"{label:<56} {total / runs * 1000:7.3f} ms  SQL {sql_time[0] / runs * 1000:6.3f} ms "
            f"in {sql_count[0] / runs:4.1f} queries"
        )

    number = "70000000000006"
    anonymous = Client(HTTP_HOST="localhost")
    print(f"in-process, mean of {runs} (SQL = time inside cursor.execute, incl. the round trip)")
    run("GET /bench/baseline/ (anonymous)", lambda: anonymous.get("/bench/baseline/"))
    logged_in = _overview_client(number)
    run("GET /info/notices/ (logged in, an empty 準備中 page)", lambda: logged_in.get("/info/notices/"))
    from django.test import override_settings

    for n_number, n in CONTRACTS.items():
        client = _overview_client(n_number)
        with override_settings(PAGE_CACHE_SECONDS=0):
            run(f"GET /overview/ ({n} account IDs, rendered)", lambda c=client: c.get("/overview/"))
        run(f"GET /overview/ ({n} account IDs, from the page cache)", lambda c=client: c.get("/overview/"))

    pk = Contract.objects.get(customer_number=number).principal_id
    principal = PrincipalBackend().get_user(pk)
    assert principal is not None
    viewer = viewer_for(principal)
    assert viewer is not None
    client = _overview_client(number)
    session_key = client.cookies["sessionid"].value
    request = RequestFactory(HTTP_HOST="localhost").get("/overview/")
    request.user = principal
    request.session = client.session
    request._messages = []  # type: ignore[attr-defined]
    data = contract_overview(viewer.contract)
    context = {
        "viewer": viewer,
        "contract": viewer.contract,
        "brand": viewer.contract.plan.brand,
        "menu": menu_for(viewer, "/overview/"),
        "o": data,
        "prompt_first_account": not data.accounts,
        "can_manage_accounts": viewer.can(Feature.ACCT).verdict is Verdict.ALLOW,
    }
    print("parts of GET /overview/ (6 account IDs):")
    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    engine = settings.SESSION_ENGINE.rsplit(".", 1)[-1]
    run(f"  session load ({engine})", lambda: session_store(session_key).load())
    run("  PrincipalBackend.get_user (one query)", lambda: PrincipalBackend().get_user(pk))
    run(
        "    the ORM's select_related query instead",
        lambda: Principal.objects.select_related(*PRINCIPAL_RELATED).get(pk=pk),
    )
    run("  page cache lookup (hit)", lambda: cache.get(page_key(request, viewer)))
    run("  contract_overview() (selector, 2 queries)", lambda: contract_overview(viewer.contract))
    run("  menu_for() (side menu)", lambda: menu_for(viewer, "/overview/"))
    run("  render portal/overview.html", lambda: render_to_string("portal/overview.html", context, request))
    run("  render bench/baseline.html", lambda: render_to_string("bench/baseline.html", context, request))


# --- report ---------------------------------------------------------------------------------------


def _wrk(name: str) -> dict[str, Any]:
    path = RESULTS / f"wrk-{name}.txt"
    text = path.read_text() if path.exists() else ""

    def grab(pattern: str, default: str = "0") -> str:
        m = re.search(pattern, text, re.MULTILINE)
        return m.group(1) if m else default

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "req_s": float(grab(r"^Requests/sec:\s+([\d.]+)")),
        "requests": int(grab(r"^\s+(\d+) requests in")),
        "p50": latency("50"),
        "p99": latency("99"),
        "non_2xx_3xx": int(grab(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0,
        "socket_detail": socket.group(0) if socket else "",
        "expected": int(grab(r"^BENCH_STATUS expected=(\d+)")),
        "ok": int(grab(r"^BENCH_STATUS expected=\d+ ok=(\d+)")),
        "other": int(grab(r"^BENCH_STATUS expected=\d+ ok=\d+ other=(\d+)")),
        "other_statuses": grab(r"^BENCH_STATUS .* statuses=(.*)$", ""),
    }


def _busy(name: str) -> int | None:
    path = RESULTS / f"busy-{name}.txt"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report() -> None:
    env = os.environ
    seconds, conns, threads = (
        env.get("BENCH_SECONDS", "?"),
        env.get("BENCH_CONNECTIONS", "?"),
        env.get("BENCH_THREADS", "?"),
    )
    targets = [
        ("baseline", "GET  /bench/baseline/ (anonymous, 1 PK query, 8 KB)"),
        ("overview", "GET  /overview/ (logged in, 6 account IDs)"),
        ("rendered", "GET  /overview/ (the same, page cache off)"),
        ("login", "POST /login/ (customer number, Argon2id)"),
    ]
    wrk = {name: _wrk(name) for name, _ in targets}
    q = json.loads((RESULTS / "queries.json").read_text())
    h = json.loads((RESULTS / "hashcost.json").read_text())

    lines = [
        f"MyPage benchmark  {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine: {env.get('BENCH_CPU', '?')}, {env.get('BENCH_CORES', '?')} cores; "
        f"gunicorn {env.get('BENCH_WORKERS', '?')} sync workers on 127.0.0.1; PostgreSQL "
        f"{env.get('BENCH_PG', '?')} (127.0.0.1); DEBUG off; CONN_MAX_AGE={env.get('CONN_MAX_AGE', '?')}",
        f"load: wrk -t{threads} -c{conns} -d{seconds}s --latency per target, after a warm-up",
        "",
        f"{'target':<52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'bad':>5}",
    ]
    warnings = []
    for name, label in targets:
        w = wrk[name]
        bad = w["other"] + w["socket_errors"]
        lines.append(
            f"{label:<52} {w['req_s']:>9.1f} {w['p50']:>8.2f} {w['p99']:>8.2f} {w['requests']:>9} {bad:>5}"
        )
        if w["non_2xx_3xx"]:
            warnings.append(f"WARNING {name}: wrk reported {w['non_2xx_3xx']} Non-2xx or 3xx responses")
        if w["other"]:
            warnings.append(
                f"WARNING {name}: {w['other']} responses were not HTTP {w['expected']}"
                f" ({w['other_statuses']})"
            )
        if w["socket_errors"]:
            warnings.append(f"WARNING {name}: {w['socket_detail']}")
        if w["requests"] == 0:
            warnings.append(f"WARNING {name}: no wrk result (see {RESULTS}/wrk-{name}.txt)")
    lines.append("  bad = responses not of the expected status (200; 302 -> / for the login) + socket errors")
    busy = {name: _busy(name) for name, _ in targets}
    lines.append(
        "  CPU busy in the idle second before each run: "
        + ", ".join(f"{name} {'?' if b is None else b}%" for name, b in busy.items())
        + f" (over {BUSY_LIMIT}%: something else was using the machine)"
    )
    for name, b in busy.items():
        if b is not None and b > BUSY_LIMIT:
            warnings.append(
                f"WARNING {name}: the CPUs were {b}% busy before the run with the server idle: another"
                " process was using the machine, the figures are not reliable"
            )

    base, over, rendered = wrk["baseline"]["req_s"], wrk["overview"]["req_s"], wrk["rendered"]["req_s"]
    ratio = over / base if base else 0.0
    rendered_ratio = rendered / base if base else 0.0
    q1, q6 = q["1"]["count"], q["6"]["count"]
    c1, c6 = q["1"]["cached_count"], q["6"]["cached_count"]
    check = h["check_password_ms"]
    make = h["make_password_ms"]
    owasp_ok = (
        h["algorithm"] == "argon2id"
        and h["memory_kib"] >= OWASP_MIN["memory_kib"]
        and h["time_cost"] >= OWASP_MIN["time_cost"]
        and h["parallelism"] == OWASP_MIN["parallelism"]
    )
    cores = int(env.get("BENCH_CORES", "1") or 1)
    ceiling = cores * 1000 / check["median"] if check["median"] else 0.0
    lines += [
        "",
        "goals",
        f"  overview req/s / baseline req/s    {over:.1f} / {base:.1f} = {ratio:.2f}"
        f"   goal >= {RATIO_GOAL:.2f}   {_verdict(ratio >= RATIO_GOAL)}",
        f"    (the page cache off: {rendered:.1f} / {base:.1f} = {rendered_ratio:.2f}, what the first view"
        " after a change costs)",
        f"  SQL queries of GET /overview/      1 account ID: {q1}, 6 account IDs: {q6}"
        f"   goal: equal, <= {OVERVIEW_MAX_QUERIES}   {_verdict(q1 == q6 <= OVERVIEW_MAX_QUERIES)}",
        f"    (from the page cache: {c1} and {c6})",
        f"  Argon2id check_password            median {check['median']:.1f} ms (p95 {check['p95']:.1f} ms,"
        f" {h['runs']} runs)   goal <= {HASH_GOAL_MS:.0f} ms   {_verdict(check['median'] <= HASH_GOAL_MS)}",
        f"  Argon2id parameters                {h['algorithm']} m={h['memory_kib']} KiB"
        f" ({h['memory_kib'] / 1024:g} MiB), t={h['time_cost']}, p={h['parallelism']}"
        f"   OWASP minimum m>=19 MiB, t>=2, p=1   {_verdict(owasp_ok)}",
        "",
        "login",
        f"  logins/s (wrk, every one a 302)    {wrk['login']['req_s']:.1f}"
        f"   ({wrk['login']['ok']} successful logins, {wrk['login']['other']} other responses)",
        f"  Argon2id make_password             median {make['median']:.1f} ms (p95 {make['p95']:.1f} ms)",
        f"  hashing ceiling                    {cores} cores / {check['median']:.1f} ms"
        f" = {ceiling:.0f} logins/s",
        f"  hasher                             {h['hasher']} (bench holder's stored hash current,"
        f" no rehash at login: {'yes' if not h['stored_hash_needs_update'] else 'NO'})",
        "",
        f"overview page size: {q['6']['bytes']} bytes (6 IDs), {q['1']['bytes']} bytes (1 ID)",
    ]
    if warnings:
        lines += ["", *warnings]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    (RESULTS / "latest.txt").write_text(text)


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    command, args = argv[0], argv[1:]
    RESULTS.mkdir(parents=True, exist_ok=True)
    if command == "report":
        report()
        return
    if command == "csrf":
        csrf(args[0])
        return
    setup_django()
    if command == "seed":
        seed()
    elif command == "session":
        session(args[0])
    elif command == "queries":
        queries()
    elif command == "hashcost":
        hashcost(int(args[0]) if args else 50)
    elif command == "profile":
        profile(int(args[0]) if args else 1000)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
