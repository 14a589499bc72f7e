"""MyPage settings: one module, driven by environment variables (twelve-factor).

MYPAGE_ENV=development (the default) gives safe local defaults: SQLite in var/, DEBUG on,
console mail. MYPAGE_ENV=production refuses to start without SECRET_KEY and turns on every
transport-security setting, so that ``manage.py check --deploy`` reports nothing.
See README.md "Configuration" for the full list.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MYPAGE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


MYPAGE_ENV = os.environ.get("MYPAGE_ENV", "development")
if MYPAGE_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("MYPAGE_ENV must be 'development' or 'production'")
PRODUCTION = MYPAGE_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when MYPAGE_ENV=production")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when MYPAGE_ENV=production")
    # Development only: a fixed, obviously-local key.
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40

# Brand portal hosts (F-LOGIN-2): "host=brand_code" pairs. The request host picks the brand of
# the login page; an unknown host gets DEFAULT_BRAND.
BRAND_HOSTS: dict[str, str] = {}
for pair in env_list(
    "BRAND_HOSTS",
    [
        "mypage.spaaqs.ne.jp=spaaqs",
        "mypage.ucom.ne.jp=ucom",
        "spaaqs.localhost=spaaqs",
        "ucom.localhost=ucom",
    ],
):
    host, _sep, code = pair.partition("=")
    if not code:
        raise ImproperlyConfigured(f"BRAND_HOSTS entry {pair!r} is not host=brand_code")
    BRAND_HOSTS[host.strip().lower()] = code.strip()
DEFAULT_BRAND = os.environ.get("DEFAULT_BRAND", "spaaqs")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver", *BRAND_HOSTS],
)

INSTALLED_APPS = [
    "mypage.principals",
    "mypage.core",
    "mypage.contracts",
    "mypage.accounts",
    "mypage.mail",
    "mypage.subscriptions",
    "mypage.payments",
    "mypage.calls",
    "mypage.billing",
    "mypage.audit",
    "mypage.notifications",
    "mypage.portal",
    "mypage.staff",
    "mypage.demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver serves /static/ through WhiteNoise, as production does, not through Django's
    # static handler (which answers 500 to a path such as /static/../config/settings.py).
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "mypage.portal.language.PageLanguageMiddleware",  # LocaleMiddleware, limited to PAGE_LANGUAGES
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mypage.portal.middleware.SessionLifetimeMiddleware",
    "mypage.portal.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

# The portal's pages are Jinja2 (mypage/portal/jinja2/, see mypage/portal/jinja2env.py: rendered on
# every request, ten times faster than Django templates); the admin and form widgets keep Django's.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "mypage.portal.jinja2env.environment"},
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # The mails' filters (money and dates of core.formatting), without a {% load %}.
            "builtins": ["mypage.notifications.templatetags.mail_format"],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: DATABASE_URL (postgres://… in production); SQLite in var/ by default.
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mypage.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: one writer at a time; wait for the lock instead of failing, WAL for readers.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The test database is a file, not SQLite's in-memory default, so that the processes beside
    # the tests (Dovecot reading the mailserver_* views; manage.py workers) see what a test commits.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("TEST_DATABASE_NAME") or str(VAR_DIR / "test.sqlite3")
    }
else:
    # The fixed queries of every page (the principal, the overview's rows: mypage.core.sql) run as
    # prepared statements: PostgreSQL plans each once per connection instead of on every request.
    # Only those queries; the ORM keeps client-side binding. Turn it off behind a pooler in
    # transaction mode that does not track prepared statements (PgBouncer < 1.21).
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5  # psycopg's default
    DATABASES["default"].setdefault("TEST", {})
    if os.environ.get("TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"]["NAME"] = os.environ["TEST_DATABASE_NAME"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------------------
AUTH_USER_MODEL = "principals.Principal"
AUTHENTICATION_BACKENDS = ["mypage.accounts.backends.PrincipalBackend"]
PASSWORD_HASHERS = [
    # Argon2id, m=19 MiB, t=2, p=1: OWASP's minimum, Dovecot/libsodium-compatible, ~17 ms here.
    "mypage.principals.hashers.MyPageArgon2Hasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"

# F-LOGIN-5: throttling. A client here is its IP address.
LOGIN_FAILURES_PER_IDENTIFIER = int(os.environ.get("LOGIN_FAILURES_PER_IDENTIFIER", "10"))
LOGIN_FAILURES_PER_CLIENT = int(os.environ.get("LOGIN_FAILURES_PER_CLIENT", "50"))
LOGIN_THROTTLE_WINDOW = timedelta(minutes=15)
LOGIN_LOCKOUT = timedelta(minutes=15)
# Behind a reverse proxy that sets X-Forwarded-For, the number of proxies to trust (0 = none).
# Production assumes a proxy (SECURE_PROXY_SSL_HEADER below) and so must say how many: left unset,
# every client would share the proxy's address, and 50 typos anywhere would lock everyone out.
# 0 is allowed there only when set explicitly (the server faces the clients itself).
if PRODUCTION and os.environ.get("TRUSTED_PROXY_COUNT", "").strip() == "":
    raise ImproperlyConfigured(
        "TRUSTED_PROXY_COUNT must be set when MYPAGE_ENV=production: the number of reverse proxies "
        "in front that append to X-Forwarded-For (1 behind one TLS proxy; 0 only without a proxy)"
    )
try:
    TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT") or "0")
except ValueError:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be a whole number (0, 1, 2, ...)") from None
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")

# --- Cache and sessions (F-LOGIN-4) --------------------------------------------------------
# CACHE_URL (redis://host:port/db) names a cache that every server process shares. With one,
# sessions are read from it and written through to the database (mypage.core.session_store, Django's
# ``cached_db`` made safe to lose the cache): a logged-in page needs no session query. Without one
# (development, tests), each process has a local-memory cache and sessions stay in the database only,
# because a per-process cache would keep a session alive in one worker after a logout in another.
# Redis down or hung is not an outage (mypage.core.cache): every call gives up after
# CACHE_TIMEOUT_SECONDS, a failure makes this process skip the cache for CACHE_RETRY_SECONDS (sessions
# then come from the database, pages are rendered), and a session's copy lives SESSION_CACHE_SECONDS
# at most, which bounds how long a change lost with the cache can show.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHE_TIMEOUT_SECONDS = float(os.environ.get("CACHE_TIMEOUT_SECONDS", "0.25"))
CACHE_RETRY_SECONDS = float(os.environ.get("CACHE_RETRY_SECONDS", "5"))
SESSION_CACHE_SECONDS = int(os.environ.get("SESSION_CACHE_SECONDS", "60"))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "mypage.core.cache.ResilientRedisCache",  # Django's, bounded, with a breaker
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "mypage"),
            "OPTIONS": {
                "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_TIMEOUT_SECONDS,
                "RETRY_SECONDS": CACHE_RETRY_SECONDS,
            },
        }
    }
    SESSION_ENGINE = "mypage.core.session_store"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)
# The stored session lives as long as a login may (12 h, moved on by each write); the 30 minutes
# idle are SessionLifetimeMiddleware's to enforce, so it can still see an idle session and say on
# the login page that it expired (portal/middleware.py).
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
STEP_UP_VALIDITY = timedelta(minutes=15)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
# The languages a browser may choose (Accept-Language, the language cookie): only those whose text
# exists. English joins when mypage/locale/en is translated (mypage.portal.language).
PAGE_LANGUAGES = ["ja"]
LOCALE_PATHS = [BASE_DIR / "mypage" / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Mail (SMTP; console in development) ---------------------------------------------------
# Django 6.1's MAILERS. With EMAIL_HOST set (or in production) mail goes out over SMTP.
SMTP_TIMEOUT_SECONDS = int(os.environ.get("SMTP_TIMEOUT_SECONDS", "10"))  # per SMTP socket operation
if PRODUCTION or os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "127.0.0.1"),
                "port": int(os.environ.get("EMAIL_PORT", "25")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", False),
                "timeout": SMTP_TIMEOUT_SECONDS,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- The mail server (Dovecot + Postfix reading the portal's database: docs/mail-server.md) ----
# `manage.py mail_server_config DIR` renders their configuration from these; `scripts/mail-server`
# runs Dovecot for the demo. The listeners are loopback by default; the submission host is where
# Dovecot sends forwarded mail and auto-replies (an MTA such as Postfix on 127.0.0.1:25).
MAIL_SERVER = {
    "LISTEN": os.environ.get("MAIL_SERVER_LISTEN", "127.0.0.1"),
    "IMAP_PORT": int(os.environ.get("MAIL_SERVER_IMAP_PORT", "1143")),
    "LMTP_PORT": int(os.environ.get("MAIL_SERVER_LMTP_PORT", "1024")),
    "SUBMISSION_HOST": os.environ.get("MAIL_SERVER_SUBMISSION_HOST", "127.0.0.1:25"),
    # Dovecot's run directory, the mailboxes (one home per account ID) and the rendered files.
    "DIR": Path(os.environ.get("MAIL_SERVER_DIR", VAR_DIR / "mailserver")),
    # The PostgreSQL role that may read only the mailserver_* views (manage.py mail_server_grant).
    "DB_ROLE": os.environ.get("MAIL_SERVER_DB_ROLE", "mypage_mail"),
    "DB_PASSWORD": os.environ.get("MAIL_SERVER_DB_PASSWORD", ""),
}
# The adapter of the mail server's storage (mail/ports.py): deletes the stored mail of a mailbox
# that ended, through the MailboxPurge job. The real one works on the Maildirs under DIR/mail.
MAILBOX_STORE = os.environ.get("MAILBOX_STORE", "mypage.mail.adapters.MaildirStore")

# --- The payment gateway (F-PAY, docs/payments.md) ---------------------------------------------
# The portal never sees a card number: the browser sends it to the gateway's token endpoint (the
# gateway's script, from PUBLIC_URL) and the portal gets a one-time token; it then talks to
# API_URL server to server with SECRET_KEY. The default is the project's own sandbox gateway
# (gateway/, started by scripts/serve on 127.0.0.1:8020; docs/sandbox-gateway.md).
GATEWAY_PORT = int(os.environ.get("GATEWAY_PORT", "8020"))
PAYMENT_GATEWAY = {
    "ADAPTER": os.environ.get("PAYMENT_GATEWAY_ADAPTER", "mypage.payments.adapters.SandboxGateway"),
    "API_URL": os.environ.get("GATEWAY_API_URL", f"http://127.0.0.1:{GATEWAY_PORT}"),
    "PUBLIC_URL": os.environ.get("GATEWAY_PUBLIC_URL", f"http://127.0.0.1:{GATEWAY_PORT}"),
    "PUBLISHABLE_KEY": os.environ.get("GATEWAY_PUBLISHABLE_KEY", "pk_test_sandbox"),
    "SECRET_KEY": os.environ.get("GATEWAY_SECRET_KEY", "sk_test_sandbox"),
    "TIMEOUT_SECONDS": float(os.environ.get("GATEWAY_TIMEOUT_SECONDS", "10")),
}

# --- Statement documents (issue 15, billing/render/pdf.py) ----------------------------------------
# The TrueType Japanese font embedded in the statement PDF; empty: Debian's IPAexゴシック
# (fonts-ipaexfont, installed by scripts/serve and scripts/test).
STATEMENT_PDF_FONT = os.environ.get("STATEMENT_PDF_FONT", "")

# --- Call details (issue 15, docs/imports.md) -----------------------------------------------------
# The largest carrier CSV the back office's 通話明細の取込 accepts, in bytes (200 MB ≈ 3 million
# calls). A larger file is dropped as it streams in, never stored, and the page says so; split it,
# or import it with `manage.py import_calls`, which has no limit. The proxy in front must allow it.
CALLS_UPLOAD_MAX_BYTES = int(os.environ.get("CALLS_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))

# --- Background tasks: the durable jobs (core/jobs.py) and the notification outbox (SPEC §11) ---
# Django's tasks framework, stored in our own database by django_tasks_db: a job's row and its task
# row are written in the same transaction as the change that wants them. `manage.py jobs_worker`
# runs them; each job model's tasks go to its own queue, which must be listed here.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "jobs", "outbox"],
    }
}
# The adapter of the mail port (notifications/ports.py): a dotted path to a class or an instance.
MAIL_TRANSPORT = "mypage.notifications.adapters.SmtpMailTransport"
# The mails' retry policy: attempts before a mail is marked 送信失敗, the waits between attempts
# (seconds; the last one repeats), and how long one delivery attempt may stay claimed before it
# counts as lost (a worker killed outright) and the mail is sent again. The worker looks for lost
# attempts every half lease (core/worker.py), so a crashed worker's mail goes out again within
# 1.5 leases: 60 s by default. The lease must outlast one attempt, i.e. the SMTP timeout.
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
OUTBOX_RETRY_DELAYS = [
    int(item) for item in env_list("OUTBOX_RETRY_DELAYS", ["60", "300", "900", "1800", "3600", "7200"])
]
if not OUTBOX_RETRY_DELAYS or OUTBOX_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("OUTBOX_RETRY_DELAYS must list seconds and OUTBOX_MAX_ATTEMPTS be >= 1")
OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "40"))
if OUTBOX_LEASE_SECONDS <= SMTP_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        f"OUTBOX_LEASE_SECONDS ({OUTBOX_LEASE_SECONDS}) must be longer than the SMTP timeout "
        f"(SMTP_TIMEOUT_SECONDS, {SMTP_TIMEOUT_SECONDS} s): a slow attempt would be made again while it runs"
    )

# --- Security headers (SPEC §14) ----------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # ASVS V3.3.3: the browser accepts a __Host- cookie only with Secure, Path=/ and no Domain, so
    # no other host of the domain (nor a plain-HTTP answer) can set or shadow these two.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Catalogue/brand/plan data are cached per process for this long (staff edits show after it).
CATALOGUE_CACHE_SECONDS = int(os.environ.get("CATALOGUE_CACHE_SECONDS", "60"))
# Contract pages (ご契約情報一覧) are cached under the contract's revision (mypage.portal.pagecache);
# an entry lives this long at most, so catalogue edits reach them as fast as the catalogue cache.
# 0 turns the page cache off.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", str(CATALOGUE_CACHE_SECONDS)))
# F-SEC: where セキュリティオプション管理's [ダウンロード] leads is per product now (Product.download_url,
# staff-edited; blank: the portal's own page saying what the vendor's page would be).

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

CSRF_FAILURE_VIEW = "mypage.portal.errors.csrf_failure"
