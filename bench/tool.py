"""In-process helpers of bench/run: ``python -m bench.tool <command>`` (bench.settings).

seed              create the benchmark contracts (1 and 6 account IDs) in the mypage_bench database,
                  with licences for their security options, and close last month (issued statements)
targets           print "name path" of every page bench/run measures (the 6-ID holder's)
session NUMBER    log a customer number in (force_login) and print its session cookie
cookies           print the names of the session and the CSRF cookie (SESSION_COOKIE_NAME,
                  CSRF_COOKIE_NAME: __Host-sessionid, __Host-csrftoken in production)
csrf BASE_URL     GET BASE_URL/login/ and print the CSRF cookie and the form's token
queries           count the SQL queries of every measured page for both contracts -> results/queries.json
hashcost [N]      time make_password/check_password of the first hasher -> results/hashcost.json
profile [N]       where the time of each page goes, in-process (BENCH_PROFILE=1 bench/run)
attack-state      print what the login log holds of the attack's addresses (bench/run, before,
                  during and after the attack) as JSON
report            print the results table and write it to results/latest.txt

In-process requests go through the project's WSGI handler exactly as gunicorn calls it (an environ
with the Host and Cookie headers wrk sends), not through Django's test client.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import statistics
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH_DIR / "results"))
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "mypage_bench")

PASSWORD = "bench-password-123"
ACCOUNT_PASSWORD = "bench-account-password-123"
CONTRACTS = {
    # customer number: number of account IDs. Both on a MULTI plan (up to 6 account IDs).
    "70000000000001": 1,
    "70000000000006": 6,
}
HOLDER_6 = "70000000000006"  # every page is measured as this holder (6 account IDs)
PLAN_CODE = "spaaqs_multi"
OVERVIEW_MAX_QUERIES = 10  # "a small count": the goal is the same count for 1 and 6 account IDs, ≤ this

# OWASP Password Storage Cheat Sheet, Argon2id minimum: m=19 MiB, t=2, p=1.
OWASP_MIN = {"memory_kib": 19 * 1024, "time_cost": 2, "parallelism": 1}
HASH_GOAL_MS = 30.0
RATIO_GOAL = 0.60  # the overview as wrk sees it (page cache on)
RENDERED_RATIO_GOAL = 0.35  # the overview rendered (page cache off): issue 10, point 6
BUSY_LIMIT = 10  # percent of the CPUs busy while the server is idle: above this, the machine is not quiet


@dataclass(frozen=True)
class Page:
    """A logged-in page bench/run measures with the page cache off (``rendered`` is the overview)."""

    name: str  # results/wrk-<name>.txt
    path: str  # {account}: the contract's first account ID; {month}: last month (issued statement)
    label: str


PAGES = (
    Page("empty", "/info/notices/", "GET  /info/notices/ (an empty logged-in page)"),
    Page("rendered", "/overview/", "GET  /overview/ (6 account IDs, page cache off)"),
    Page("accounts", "/account-ids/", "GET  /account-ids/ (アカウントID管理)"),
    Page(
        "security",
        "/account-ids/{account}/security/manage/",
        "GET  /account-ids/…/security/manage/ (セキュリティオプション管理)",
    ),
    Page("statement", "/billing/monthly/{month}/", "GET  /billing/monthly/<last month>/ (請求明細)"),
)
# The household journey (wrk.lua BENCH_JOURNEY): log in, ご契約情報一覧, アカウントID管理, last month's
# statement, log out, as the 6-ID holder, against the server with the page cache off.
JOURNEY = ("login", "rendered", "accounts", "statement", "logout")


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    name = settings.DATABASES["default"]["NAME"]
    if name != DATABASE_NAME:
        sys.exit(f"bench.tool refuses to run on database {name!r}: only {DATABASE_NAME!r} (set DATABASE_URL)")


def last_month() -> str:
    from mypage.billing_engine import Month
    from mypage.core import clock

    return str(Month.of(clock.today()) + -1)


def page_path(page: Page, number: str = HOLDER_6) -> str:
    return page.path.format(account=f"bench{CONTRACTS[number]}-01", month=last_month())


# --- seed -----------------------------------------------------------------------------------------


def seed() -> None:
    """Two holders built with mypage.testing.factories (as the tests build theirs), with mail, web
    space, options (each security option with its licence, as a purchase issues one); then last
    month is closed, so that each contract has an issued statement to show."""
    from django.core.management import call_command
    from django.db import transaction

    from mypage.accounts.models import Permission
    from mypage.mail.models import MailKind
    from mypage.subscriptions.licences import licence_issue
    from mypage.testing.factories import (
        make_account,
        make_contract,
        make_mail_address,
        make_online_storage,
        make_subscription,
        make_web_space,
    )

    applied = dt.date(2024, 4, 1)
    with transaction.atomic():
        for number, n_accounts in CONTRACTS.items():
            contract = make_contract(
                number, PLAN_CODE, PASSWORD, install_address="東京都千代田区1-1 ベンチマークマンション101"
            )
            for code in ("mail_pack", "remote_support", "warranty_basic"):
                make_subscription(contract, code, applied)
            for i in range(1, n_accounts + 1):
                account = make_account(
                    contract,
                    f"bench{n_accounts}-{i:02d}",
                    Permission.ADMIN if i == 1 else Permission.USER,
                    ACCOUNT_PASSWORD,
                    given_name=f"花子{i}",
                    username=f"試験花子{i}",
                )
                # A mix of services, so that every branch of the account detail renders.
                if i % 3 != 0:
                    make_mail_address(account, MailKind.ISP)
                    licence_issue(make_subscription(contract, "security_360", applied, account=account))
                elif i == 3:
                    make_mail_address(account, MailKind.EXTERNAL, "family@example.com")
                if i % 2 == 1:
                    make_web_space(account)
                if i == 1:
                    make_online_storage(account)
                    make_subscription(contract, "mailbox_10gb", applied, account=account)
            print(f"seeded {number}: plan {PLAN_CODE}, {n_accounts} account ID(s), password {PASSWORD!r}")
    out = io.StringIO()
    call_command("close_month", last_month(), workers=0, stdout=out, stderr=out)
    print(
        f"closed {last_month()}: {out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else ''}"
    )


# --- targets / session / csrf ---------------------------------------------------------------------


def targets() -> None:
    for page in PAGES:
        print(page.name, page_path(page))


def session_key(number: str) -> str:
    from django.conf import settings
    from django.test import Client

    from mypage.contracts.models import Contract

    client = Client()
    client.force_login(Contract.objects.get(customer_number=number).principal)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def session(number: str) -> None:
    print(session_key(number))


def cookie_names() -> None:
    from django.conf import settings

    print(settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)


def csrf(base_url: str) -> None:
    """The CSRF cookie and a masked token from the login form, as a browser would get them."""
    from django.conf import settings

    name = settings.CSRF_COOKIE_NAME
    with urllib.request.urlopen(f"{base_url}/login/", timeout=10) as response:  # noqa: S310 (127.0.0.1 only)
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        html = response.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if name not in cookies or match is None:
        sys.exit(f"csrf: no {name} cookie or csrfmiddlewaretoken in GET /login/")
    print(cookies[name].value, match.group(1))


# --- in-process requests --------------------------------------------------------------------------


class InProcess:
    """The project's WSGI handler called as gunicorn calls it, with what wrk sends (Host, Cookie)."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.app = WSGIHandler()

    def get(self, path: str, cookie: str = "") -> tuple[int, bytes]:
        path, _sep, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8765",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8765",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        status: list[str] = []

        def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            status.append(line)

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()  # type: ignore[attr-defined]  # request_finished, as gunicorn does
        return int(status[0].split()[0]), body


def _cookie(number: str) -> str:
    from django.conf import settings
    from django.middleware.csrf import _get_new_csrf_string

    session, csrf = settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME
    return f"{session}={session_key(number)}; {csrf}={_get_new_csrf_string()}"


@contextmanager
def _page_cache(on: bool) -> Iterator[None]:
    from django.conf import settings
    from django.test import override_settings

    if on:
        yield
        return
    with override_settings(PAGE_CACHE_SECONDS=0):
        assert settings.PAGE_CACHE_SECONDS == 0
        yield


# --- queries --------------------------------------------------------------------------------------


def queries() -> None:
    """SQL queries of every measured page for 1 and 6 account IDs, rendered (the page cache off,
    as on the first view after a change), and of the overview served from the page cache too."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = InProcess()

    def measure(path: str, cookie: str) -> tuple[int, list[str], bytes]:
        warm_status, _ = client.get(path, cookie)  # the first page of a process loads the catalogue
        assert warm_status == 200, (path, warm_status)
        with CaptureQueriesContext(connection) as ctx:
            status, body = client.get(path, cookie)
        assert status == 200, (path, status)
        return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], body

    out: dict[str, Any] = {}
    for number, n_accounts in CONTRACTS.items():
        cookie = _cookie(number)
        pages: dict[str, Any] = {}
        with _page_cache(on=False):
            for page in PAGES:
                path = page_path(page, number)
                count, sql, body = measure(path, cookie)
                pages[page.name] = {"path": path, "count": count, "sql": sql, "bytes": len(body)}
                if page.name == "rendered":
                    listed = body.decode().count('<details class="account"')
                    assert listed == n_accounts, "the overview does not list every account ID"
        cached_count, cached_sql, cached_body = measure("/overview/", cookie)
        pages["overview"] = {
            "path": "/overview/",
            "count": cached_count,
            "sql": cached_sql,
            "bytes": len(cached_body),
        }
        out[str(n_accounts)] = {"customer_number": number, "pages": pages}
        print(
            f"{n_accounts} account ID(s): "
            + ", ".join(f"{name} {p['count']}" for name, p in pages.items())
            + " queries"
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


# --- profile (for a human: where a page's time goes) ----------------------------------------------


class Parts:
    """Exclusive time per part of a request: entering a part pauses the part that called it, so the
    parts of one request add up to the request. SQL and cache (Redis) calls are charged to the part
    that made them, under ``<part>\\tSQL`` and ``<part>\\tcache``."""

    def __init__(self) -> None:
        self.time: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list[Any]] = []

    def enter(self, label: str) -> None:
        now = time.perf_counter()
        if self.stack:
            top = self.stack[-1]
            self.time[top[0]] += now - top[1]
        self.stack.append([label, now])
        self.calls[label] += 1

    def leave(self) -> None:
        now = time.perf_counter()
        label, start = self.stack.pop()
        self.time[label] += now - start
        if self.stack:
            self.stack[-1][1] = now

    def top(self) -> str:
        return str(self.stack[-1][0]) if self.stack else "?"

    def wrap(self, label: str | Callable[[], str], fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(label if isinstance(label, str) else label())
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        timed.__name__ = getattr(fn, "__name__", "timed")
        return timed

    def reset(self) -> None:
        self.time.clear()
        self.calls.clear()


MIDDLEWARE_NAMES = {
    "SecurityMiddleware": "security",
    "WhiteNoiseMiddleware": "whitenoise",
    "ContentSecurityPolicyMiddleware": "csp",
    "SessionMiddleware": "sessions",
    "LocaleMiddleware": "locale",
    "PageLanguageMiddleware": "locale",
    "CommonMiddleware": "common",
    "CsrfViewMiddleware": "csrf",
    "AuthenticationMiddleware": "auth",
    "SessionLifetimeMiddleware": "lifetime",
    "NoStoreMiddleware": "no-store",
    "MessageMiddleware": "messages",
    "XFrameOptionsMiddleware": "x-frame",
}


def _rebind(original: Any, timed: Any) -> int:
    """Point every module-level name bound to ``original`` (``from x import f`` included) at ``timed``."""
    n = 0
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if not name.startswith(("mypage", "django", "bench")):
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, timed)
                n += 1
    return n


def _instrument(parts: Parts, handler: Any) -> None:
    """Wrap the parts of a request: every middleware (its own code), the view, the database
    health check, the session, the principal, the selectors, the services they call, the menu,
    the template, the page cache."""
    import importlib
    import inspect

    from django.conf import settings
    from django.core.cache.backends.redis import RedisCacheClient
    from django.db import DEFAULT_DB_ALIAS, connection, connections
    from django.template.backends import django as django_backend
    from django.template.backends import jinja2 as jinja2_backend

    # The middleware chain: handler._middleware_chain -> mw -> mw.get_response -> ... -> _get_response.
    def mw_label(mw: Any) -> str:
        name = type(mw).__name__
        return "mw " + MIDDLEWARE_NAMES.get(name, name)

    chain = handler._middleware_chain
    mw = chain.__wrapped__
    handler._middleware_chain = parts.wrap(mw_label(mw), chain)
    while True:
        nxt = mw.get_response
        target = getattr(nxt, "__wrapped__", None)
        if getattr(target, "__self__", None) is handler:  # the view: resolve, decorators, view code
            mw.get_response = parts.wrap("view", nxt)
            break
        mw.get_response = parts.wrap(mw_label(target), nxt)
        mw = target

    def patch_functions(module_name: str, label: str, only: tuple[str, ...] = ()) -> None:
        module = importlib.import_module(module_name)
        for name, fn in list(vars(module).items()):
            if inspect.isfunction(fn) and fn.__module__ == module_name and (not only or name in only):
                if name.startswith("_") and not only:
                    continue
                _rebind(fn, parts.wrap(label, fn))

    for module_name in (
        "mypage.subscriptions.selectors",
        "mypage.billing.selectors",
        "mypage.mail.selectors",
        "mypage.accounts.selectors",
    ):
        patch_functions(module_name, "selector")
    for module_name in (
        "mypage.subscriptions.rules",
        "mypage.subscriptions.services",
        "mypage.accounts.rules",
        "mypage.accounts.services",
        "mypage.contracts.rules",
        "mypage.contracts.services",
    ):
        patch_functions(module_name, "services")
    patch_functions("mypage.portal.navigation", "menu", only=("menu_for", "side_menu"))
    patch_functions("mypage.portal.pagecache", "page cache", only=("cached_page",))
    import django.contrib.auth

    _rebind(django.contrib.auth.get_user, parts.wrap("principal", django.contrib.auth.get_user))

    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore
    for method in ("load", "save", "exists", "delete"):
        if method in vars(store) or hasattr(store, method):
            setattr(store, method, parts.wrap("session", getattr(store, method)))
    for backend in (jinja2_backend.Template, django_backend.Template):
        backend.render = parts.wrap("render", backend.render)  # type: ignore[method-assign]

    def cache_label() -> str:
        return f"{parts.top()}\tcache"

    for method in ("get", "set", "add", "delete", "touch", "get_many", "has_key"):
        setattr(RedisCacheClient, method, parts.wrap(cache_label, getattr(RedisCacheClient, method)))

    def sql(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        parts.enter(f"{parts.top()}\tSQL")
        try:
            return execute(sql, params, many, context)
        finally:
            parts.leave()

    connection.execute_wrappers.append(sql)
    # CONN_HEALTH_CHECKS: a "SELECT 1" before the first query of every request (below the cursor
    # wrapper, so not among the SQL): its own part, not the first query's.
    db = type(connections[DEFAULT_DB_ALIAS])
    db.close_if_health_check_failed = parts.wrap("db check", db.close_if_health_check_failed)  # type: ignore[method-assign]


@dataclass(frozen=True)
class Profiled:
    label: str
    path: str
    number: str | None  # the holder logged in, None: anonymous
    page_cache: bool


def _profiled() -> list[Profiled]:
    from mypage.billing_engine import Month
    from mypage.core import clock

    by_name = {page.name: page for page in PAGES}
    one = next(n for n, k in CONTRACTS.items() if k == 1)
    return [
        Profiled("baseline (anonymous)", "/bench/baseline/", None, True),
        Profiled("empty logged-in page", page_path(by_name["empty"]), HOLDER_6, False),
        Profiled("overview, page cache", "/overview/", HOLDER_6, True),
        Profiled("overview rendered", "/overview/", HOLDER_6, False),
        Profiled("overview rendered, 1 ID", "/overview/", one, False),
        Profiled("アカウントID管理", page_path(by_name["accounts"]), HOLDER_6, False),
        Profiled("セキュリティオプション管理", page_path(by_name["security"]), HOLDER_6, False),
        Profiled("請求明細 (issued)", page_path(by_name["statement"]), HOLDER_6, False),
        Profiled("請求明細 (open month)", f"/billing/monthly/{Month.of(clock.today())}/", HOLDER_6, False),
    ]


SUMMARY_PARTS = (
    "db check",
    "session",
    "principal",
    "selector",
    "services",
    "menu",
    "render",
    "page cache",
    "view",
)


def profile(runs: int = 500) -> None:
    """Per page, in-process through the WSGI handler: the mean time of a request, then the same
    requests instrumented and split into parts (exclusive times; each part's SQL and Redis calls
    included in it and also shown on their own)."""
    client = InProcess()
    pages = _profiled()
    cookies = {number: _cookie(number) for number in {p.number for p in pages if p.number}}

    def call(p: Profiled) -> None:
        status, _body = client.get(p.path, cookies[p.number] if p.number else "")
        assert status == 200, (p.path, status)

    totals = {}
    for p in pages:
        with _page_cache(p.page_cache):
            for _ in range(20):
                call(p)
            t0 = time.perf_counter()
            for _ in range(runs):
                call(p)
            totals[p.label] = (time.perf_counter() - t0) / runs * 1000

    parts = Parts()
    _instrument(parts, client.app)
    split: dict[str, dict[str, float]] = {}
    calls: dict[str, dict[str, float]] = {}
    for p in pages:
        with _page_cache(p.page_cache):
            for _ in range(20):
                call(p)
            parts.reset()
            for _ in range(runs):
                parts.enter("wsgi handler")
                try:
                    call(p)
                finally:
                    parts.leave()
        split[p.label] = {k: v / runs * 1000 for k, v in parts.time.items()}
        calls[p.label] = {k: v / runs for k, v in parts.calls.items()}

    print(f"in-process through the WSGI handler, mean of {runs} requests each, ms")
    print(
        "(total: uninstrumented; prof.: the same requests instrumented, split into exclusive parts, each"
        " with the SQL and Redis calls it made; middleware: their own code; wsgi: Django's handler)"
    )
    header = f"{'page':<28}{'total':>7}{'prof.':>7}" + "".join(
        f"{h.replace(' ', ''):>10}" for h in SUMMARY_PARTS
    )
    header += f"{'middlew.':>10}{'wsgi':>7}{'SQL':>7}{'(n)':>5}{'Redis':>7}"
    print(header)
    rows = {}
    for p in pages:
        s = split[p.label]

        def inclusive(label: str, s: dict[str, float] = s) -> float:
            return s.get(label, 0.0) + s.get(f"{label}\tSQL", 0.0) + s.get(f"{label}\tcache", 0.0)

        labels = {k.split("\t")[0] for k in s}
        middleware = sum(inclusive(k) for k in labels if k.startswith("mw "))
        sql = sum(v for k, v in s.items() if k.endswith("\tSQL"))
        n_sql = sum(v for k, v in calls[p.label].items() if k.endswith("\tSQL"))
        redis = sum(v for k, v in s.items() if k.endswith("\tcache"))
        row = {label: inclusive(label) for label in SUMMARY_PARTS}
        row.update(
            total=totals[p.label],
            profiled=sum(s.values()),
            middleware=middleware,
            wsgi=inclusive("wsgi handler"),
            sql=sql,
            queries=n_sql,
            redis=redis,
        )
        rows[p.label] = row
        width = 28 - sum(1 for ch in p.label if ord(ch) > 0x2E80)  # wide characters take two columns
        print(
            f"{p.label:<{width}}{row['total']:>7.2f}{row['profiled']:>7.2f}"
            + "".join(f"{row[h]:>10.2f}" for h in SUMMARY_PARTS)
            + f"{middleware:>10.2f}{row['wsgi']:>7.2f}{sql:>7.2f}{n_sql:>5.1f}{redis:>7.2f}"
        )
    print()
    print("each page's parts in detail (ms; the SQL and Redis calls a part made, included, in brackets):")
    for p in pages:
        s = split[p.label]
        by_part: dict[str, dict[str, float]] = defaultdict(dict)
        for key, ms in s.items():
            part, _tab, kind = key.partition("\t")
            by_part[part][kind or "own"] = ms
        bits = []
        for part, kinds in sorted(by_part.items(), key=lambda item: -sum(item[1].values())):
            extra = []
            if "SQL" in kinds:
                extra.append(f"SQL {kinds['SQL']:.2f} in {calls[p.label][part + chr(9) + 'SQL']:.1f}")
            if "cache" in kinds:
                extra.append(f"Redis {kinds['cache']:.2f}")
            bits.append(f"{part} {sum(kinds.values()):.3f}" + (f" [{', '.join(extra)}]" if extra else ""))
        print(f"  {p.label} ({p.path}): " + "; ".join(bits))
    (RESULTS / "profile.json").write_text(
        json.dumps({"runs": runs, "rows": rows, "split": split}, ensure_ascii=False, indent=2)
    )


# --- the attack (issue 11, point 8) ------------------------------------------------------------

ATTACK_ADDRESSES = tuple(f"198.18.0.{n}" for n in range(1, 17))  # bench/wrk.lua BENCH_ATTACK
ATTACK_GOAL = 0.50  # journeys/s with the attack / alone


def attack_state() -> None:
    """The login attempts from the attack's addresses so far: counts per outcome, each address's
    failures, and when the last address reached the per-client limit (all locked from then on)."""
    from django.conf import settings
    from django.db.models import Count, Max, Min

    from mypage.audit.models import LoginAttempt, LoginOutcome

    rows = LoginAttempt.objects.filter(ip__in=ATTACK_ADDRESSES)
    outcomes = dict(rows.values_list("outcome").annotate(n=Count("id")).order_by())
    span = rows.aggregate(first=Min("at"), last=Max("at"))
    limit = settings.LOGIN_FAILURES_PER_CLIENT
    locked_at = []  # when each address's limit-th failure was recorded
    failures = {}
    for ip in ATTACK_ADDRESSES:
        times = list(
            rows.filter(ip=ip, outcome=LoginOutcome.FAILURE)
            .order_by("at")
            .values_list("at", flat=True)[:limit]
        )
        failures[ip] = rows.filter(ip=ip, outcome=LoginOutcome.FAILURE).count()
        if len(times) == limit:
            locked_at.append(times[-1])
    first = span["first"]
    print(
        json.dumps(
            {
                "outcomes": outcomes,
                "attempts": sum(outcomes.values()),
                "failures_per_address": failures,
                "addresses_locked": len(locked_at),
                "all_locked_after_s": (
                    (max(locked_at) - first).total_seconds()
                    if first and len(locked_at) == len(ATTACK_ADDRESSES)
                    else None
                ),
                "first": first.isoformat() if first else None,
                "last": span["last"].isoformat() if span["last"] else None,
            }
        )
    )


def _json(name: str) -> dict[str, Any]:
    path = RESULTS / name
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return found


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
        "expected": grab(r"^BENCH_STATUS expected=(\S+)"),
        "ok": int(grab(r"^BENCH_STATUS expected=\S+ ok=(\d+)")),
        "other": int(grab(r"^BENCH_STATUS expected=\S+ ok=\d+ other=(\d+)")),
        "other_statuses": grab(r"^BENCH_STATUS .* statuses=(.*)$", ""),
        "journey_steps": int(grab(r"^BENCH_JOURNEYS steps=(\d+)")),
        "journeys": int(grab(r"^BENCH_JOURNEYS .*completed=(\d+)")),
        "broken": int(grab(r"^BENCH_JOURNEYS .*broken=(\d+)")),
        "duration_s": int(grab(r"^BENCH_JOURNEYS .*duration_us=(\d+)")) / 1e6,
    }


def _busy(name: str) -> int | None:
    path = RESULTS / f"busy-{name}.txt"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _width(text: str, width: int) -> int:
    """``width`` for str.format so that ``text`` fills ``width`` terminal columns (CJK: two each)."""
    return width - sum(1 for ch in text if ord(ch) > 0x2E80)


def _per_s(w: dict[str, Any]) -> float:
    return w["journeys"] / w["duration_s"] if w["duration_s"] else 0.0


def _attack_lines(alone: dict[str, Any], warnings: list[str]) -> list[str]:
    """Households during credential stuffing: the journey alone, during the ramp, with the attack."""
    env = os.environ
    ramp, attacked, attack = _wrk("journey-ramp"), _wrk("journey-attack"), _wrk("attack")
    state, at_ramp = _json("attack-after.json"), _json("attack-ramp.json")
    measured_from, measured_to = _json("attack-measuring.json"), _json("attack-measured.json")
    try:
        waited = int((RESULTS / "attack-waited.txt").read_text().strip())
    except (OSError, ValueError):
        waited = 0
    if not attacked["requests"]:
        warnings.append(f"WARNING attack: no result (see {RESULTS}/wrk-journey-attack.txt)")
        return ["households during credential stuffing: no result"]
    a, r, w = _per_s(alone), _per_s(ramp), _per_s(attacked)
    ratio = w / a if a else 0.0
    outcomes = state.get("outcomes", {})
    during = {
        k: measured_to.get("outcomes", {}).get(k, 0) - measured_from.get("outcomes", {}).get(k, 0)
        for k in set(measured_to.get("outcomes", {})) | set(measured_from.get("outcomes", {}))
    }
    after = at_ramp.get("all_locked_after_s")
    attack_rate = sum(during.values()) / attacked["duration_s"] if attacked["duration_s"] else 0.0
    busy = _busy("journey-attack")
    lines = [
        f"households during credential stuffing ({env.get('BENCH_ATTACK_RATE', '?')} wrong-password"
        " POST /login/ a second, a new customer number each, from 16 addresses; households from their own)",
        f"  alone                              {a:.1f} journeys/s   (login p99: see the journey above)",
        f"  with the attack, addresses locked  {w:.1f} journeys/s   ({attacked['journeys']} in"
        f" {attacked['duration_s']:.1f} s, {attacked['broken']} broken; p50 {attacked['p50']:.1f} ms,"
        f" p99 {attacked['p99']:.1f} ms per request)",
        f"  ratio                              {w:.1f} / {a:.1f} = {ratio:.2f}   goal >= {ATTACK_GOAL:.2f}"
        f"   {_verdict(ratio >= ATTACK_GOAL)}",
        f"  the ramp, first {env.get('BENCH_ATTACK_RAMP', '?')} s          {r:.1f} journeys/s   ratio"
        f" {r / a if a else 0.0:.2f}   (while the addresses' first failures are hashed)",
        "  all 16 addresses locked after      "
        + (f"{after:.1f} s of attack" if after is not None else "NOT before the measured run")
        + f"   ({at_ramp.get('addresses_locked', 0)} of 16 before the measured run;"
        f" waited {waited} s after the ramp)",
        f"  the attack (bench/attack.py)       {attack['req_s']:.1f} req/s over the whole run,"
        f" {attack['requests']} requests, {attack['ok']} answered 200, {attack['other']} other;"
        f" p50 {attack['p50']:.1f} ms, p99 {attack['p99']:.1f} ms",
        "  the login log of its addresses     "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        + f"   (during the measured run: {', '.join(f'{k} {v}' for k, v in sorted(during.items()))},"
        f" {attack_rate:.1f} a second)",
        f"  CPU busy in the idle second before the attack: {'?' if busy is None else busy}%",
    ]
    if attacked["broken"]:
        warnings.append(f"WARNING journey with the attack: {attacked['broken']} journeys broke off")
    if attack["other"] or attack["socket_errors"]:
        warnings.append(
            f"WARNING attack: {attack['other']} responses not 200 ({attack['other_statuses']}),"
            f" {attack['socket_detail'] or 'no socket errors'}"
        )
    if busy is not None and busy > BUSY_LIMIT:
        warnings.append(f"WARNING attack: the CPUs were {busy}% busy before it with the server idle")
    return lines


def report() -> None:
    env = os.environ
    seconds, conns, threads = (
        env.get("BENCH_SECONDS", "?"),
        env.get("BENCH_CONNECTIONS", "?"),
        env.get("BENCH_THREADS", "?"),
    )
    journey_conns = env.get("BENCH_JOURNEY_CONNECTIONS", conns)
    targets = [
        ("baseline", "GET  /bench/baseline/ (anonymous, 1 PK query, 8 KB)"),
        ("overview", "GET  /overview/ (6 account IDs, page cache on)"),
        *((page.name, page.label) for page in PAGES),
        ("journey", "household journey (5 requests, page cache off)"),
        ("login", "POST /login/ (customer number, Argon2id)"),
    ]
    wrk = {name: _wrk(name) for name, _ in targets}
    if env.get("BENCH_ATTACK_ONLY") == "1":  # only the journey, alone and with the attack
        warnings: list[str] = []
        lines = [
            f"MyPage benchmark (BENCH_ATTACK_ONLY=1)  {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            f"machine: {env.get('BENCH_CPU', '?')}, {env.get('BENCH_CORES', '?')} cores; gunicorn"
            f" {env.get('BENCH_WORKERS', '?')} sync workers, PAGE_CACHE_SECONDS=0;"
            f" PostgreSQL {env.get('BENCH_PG', '?')}",
            f"household journey alone: {_per_s(wrk['journey']):.1f} journeys/s,"
            f" p50 {wrk['journey']['p50']:.1f} ms, p99 {wrk['journey']['p99']:.1f} ms per request;"
            f" CPU busy before it {_busy('journey')}%",
            "",
            *_attack_lines(wrk["journey"], warnings),
        ]
        text = "\n".join([*lines, *(["", *warnings] if warnings else [])]) + "\n"
        sys.stdout.write(text)
        (RESULTS / "latest.txt").write_text(text)
        return
    q = json.loads((RESULTS / "queries.json").read_text())
    h = json.loads((RESULTS / "hashcost.json").read_text())

    lines = [
        f"MyPage benchmark  {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine: {env.get('BENCH_CPU', '?')}, {env.get('BENCH_CORES', '?')} cores; "
        f"gunicorn {env.get('BENCH_WORKERS', '?')} sync workers on 127.0.0.1; PostgreSQL "
        f"{env.get('BENCH_PG', '?')} (127.0.0.1); DEBUG off; CONN_MAX_AGE={env.get('CONN_MAX_AGE', '?')}",
        f"load: wrk -t{threads} -c{conns} -d{seconds}s --latency per target, after a warm-up (the journey:"
        f" -t{journey_conns} -c{journey_conns}, one connection per thread)",
        "the pages below the overview: gunicorn restarted with PAGE_CACHE_SECONDS=0 (rendered on every"
        " request)",
        "",
        f"{'target':<62} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'requests':>8} {'bad':>4}",
    ]
    base = wrk["baseline"]["req_s"]

    def ratio(name: str) -> float:
        return wrk[name]["req_s"] / base if base else 0.0

    warnings = []
    for name, label in targets:
        w = wrk[name]
        bad = w["other"] + w["socket_errors"]
        shown = "" if name in ("baseline", "login", "journey") else f"{ratio(name):.2f}"
        lines.append(
            f"{label:<{_width(label, 62)}} {w['req_s']:>8.1f} {shown:>6} {w['p50']:>7.2f} {w['p99']:>7.2f}"
            f" {w['requests']:>8} {bad:>4}"
        )
        if w["non_2xx_3xx"] and name != "journey":
            warnings.append(f"WARNING {name}: wrk reported {w['non_2xx_3xx']} Non-2xx or 3xx responses")
        if w["other"]:
            warnings.append(
                f"WARNING {name}: {w['other']} responses were not the expected {w['expected']}"
                f" ({w['other_statuses']})"
            )
        if w["socket_errors"]:
            warnings.append(f"WARNING {name}: {w['socket_detail']}")
        if w["requests"] == 0:
            warnings.append(f"WARNING {name}: no wrk result (see {RESULTS}/wrk-{name}.txt)")
    lines.append(
        "  ratio = req/s / baseline req/s; bad = responses not of the expected status (200; 302 -> / for"
        " the login) + socket errors"
    )
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

    p1, p6 = q["1"]["pages"], q["6"]["pages"]
    q1, q6 = p1["rendered"]["count"], p6["rendered"]["count"]
    c1, c6 = p1["overview"]["count"], p6["overview"]["count"]
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
    over, rendered = wrk["overview"]["req_s"], wrk["rendered"]["req_s"]
    lines += [
        "",
        "goals",
        f"  overview rendered / baseline       {rendered:.1f} / {base:.1f} = {ratio('rendered'):.2f}"
        f"   goal >= {RENDERED_RATIO_GOAL:.2f}   {_verdict(ratio('rendered') >= RENDERED_RATIO_GOAL)}",
        f"  overview (page cache) / baseline   {over:.1f} / {base:.1f} = {ratio('overview'):.2f}"
        f"   goal >= {RATIO_GOAL:.2f}   {_verdict(ratio('overview') >= RATIO_GOAL)}",
        f"  SQL queries of GET /overview/      1 account ID: {q1}, 6 account IDs: {q6} (rendered)"
        f"   goal: equal, <= {OVERVIEW_MAX_QUERIES}   {_verdict(q1 == q6 <= OVERVIEW_MAX_QUERIES)}",
        f"    (from the page cache: {c1} and {c6})",
        f"  Argon2id check_password            median {check['median']:.1f} ms (p95 {check['p95']:.1f} ms,"
        f" {h['runs']} runs)   goal <= {HASH_GOAL_MS:.0f} ms   {_verdict(check['median'] <= HASH_GOAL_MS)}",
        f"  Argon2id parameters                {h['algorithm']} m={h['memory_kib']} KiB"
        f" ({h['memory_kib'] / 1024:g} MiB), t={h['time_cost']}, p={h['parallelism']}"
        f"   OWASP minimum m>=19 MiB, t>=2, p=1   {_verdict(owasp_ok)}",
        "",
        "pages, rendered (no goal yet; measured so that the next issues' pages start from a figure)",
        f"  {'page':<40} {'req/s':>8} {'ratio':>6} {'queries 1 ID / 6 IDs':>21} {'bytes (6 IDs)':>14}",
    ]
    for page in PAGES:
        label = (
            page.label.split(" (")[-1].rstrip(")") if page.name != "rendered" else "ご契約情報一覧 (overview)"
        )
        label = {"empty": "an empty logged-in page (/info/notices/)"}.get(page.name, label)
        lines.append(
            f"  {label:<{_width(label, 40)}} {wrk[page.name]['req_s']:>8.1f} {ratio(page.name):>6.2f}"
            f" {p1[page.name]['count']:>10} / {p6[page.name]['count']:<8} {p6[page.name]['bytes']:>14}"
        )
    j = wrk["journey"]
    steps = j["journey_steps"] or len(JOURNEY)
    per_s = j["journeys"] / j["duration_s"] if j["duration_s"] else 0.0
    base_journeys = base / steps if steps else 0.0
    lines += [
        "",
        "household journey: POST /login/, GET /overview/, GET /account-ids/, GET the statement,"
        " POST /logout/",
        f"  journeys/s                         {per_s:.1f}   ({j['journeys']} completed in"
        f" {j['duration_s']:.1f} s, {j['broken']} broken; {j['req_s']:.1f} req/s)",
        f"  the same {steps} requests of the baseline  {base:.1f} / {steps} = {base_journeys:.1f} journeys/s"
        f"   ratio {per_s / base_journeys if base_journeys else 0.0:.2f}",
        f"  (the login alone: {wrk['login']['req_s']:.1f}/s; Argon2id is most of a journey)",
        "",
        *_attack_lines(j, warnings),
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
        f"overview page size: {p6['rendered']['bytes']} bytes (6 IDs),"
        f" {p1['rendered']['bytes']} bytes (1 ID)",
    ]
    if j["broken"]:
        warnings.append(
            f"WARNING journey: {j['broken']} journeys broke off (a step's status was not expected)"
        )
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
    setup_django()
    if command == "csrf":
        csrf(args[0])
        return
    if command == "cookies":
        cookie_names()
        return
    if command == "seed":
        seed()
    elif command == "targets":
        targets()
    elif command == "session":
        session(args[0])
    elif command == "queries":
        queries()
    elif command == "attack-state":
        attack_state()
    elif command == "hashcost":
        hashcost(int(args[0]) if args else 50)
    elif command == "profile":
        profile(int(args[0]) if args else int(os.environ.get("BENCH_PROFILE_RUNS", "500")))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
