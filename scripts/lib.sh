# Shared by scripts/serve, scripts/test and bench/run. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A Python >= 3.12 (Django 6 needs it): $PYTHON, python3.13, python3.12, python3, then pyenv's.
find_python() {
  local c candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3.13 python3.12 python3)
  if command -v pyenv >/dev/null 2>&1; then
    for c in "$(pyenv root)"/versions/3.1[2-9]*/bin/python3; do [ -x "$c" ] && candidates+=("$c"); done
  fi
  for c in /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do [ -x "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      command -v "$c" 2>/dev/null || echo "$c"
      return 0
    fi
  done
  die "MyPage needs Python 3.12 or newer (Django 6). None was found as python3.13, python3.12, python3 or under pyenv. Install one, or set PYTHON=/path/to/python3.12."
}

# Create .venv and install the project (with the given extras) when pyproject.toml changed.
ensure_venv() {
  local extras="${1:-}" spec="." stamp
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    local py; py="$(find_python)"
    log "Creating virtualenv with $py"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}"
  if [ ! -f "$stamp" ]; then
    log "Installing dependencies ($spec)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
    touch "$stamp"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "need root to run: $*"; fi
}

# apt-get, waiting for another apt-get or dpkg that holds the lock (it fails at once otherwise):
# dpkg's own lock wait, and a few retries for the lists lock of `apt-get update`.
apt_get() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; then return 0; fi
    log "apt-get $1 failed (attempt $attempt); another apt-get may hold the lock: retrying in 15 s"
    sleep 15
  done
  die "apt-get $* kept failing"
}

apt_install() {
  log "Installing system packages: $*"
  if [ ! -f /tmp/.mypage-apt-updated ]; then apt_get update -qq && touch /tmp/.mypage-apt-updated; fi
  apt_get install -y -qq "$@" >/dev/null
}

# PostgreSQL on 127.0.0.1:5432: start the cluster if it is down, install it if absent.
ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  local ver; ver="$(ls /etc/postgresql | sort -V | tail -1)"
  log "Starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not start on 127.0.0.1:5432"
  # A freshly installed cluster asks for a password on TCP: give postgres the one we use.
  as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
}

# Redis on 127.0.0.1:6379: the shared cache of the benchmark's production set-up (CACHE_URL) and of
# the tests of cached sessions. Started with the command the machine's services use, installed
# from Debian's packages when missing.
redis_up() { "$VENV/bin/python" -c 'import redis; redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()' >/dev/null 2>&1; }
ensure_redis() {
  redis_up && return 0
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  log "Starting Redis on 127.0.0.1:6379"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/mypage.log || true
  for _ in $(seq 1 20); do redis_up && return 0; sleep 0.5; done
  die "Redis did not start on 127.0.0.1:6379"
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium fonts-noto-cjk
  [ -n "$(fc-list :lang=ja 2>/dev/null | head -1)" ] || apt_install fonts-noto-cjk
}

# The statement PDF (issue 15): the IPAex fonts that ReportLab embeds (Debian's fonts-ipaexfont;
# settings STATEMENT_PDF_FONT finds them), and poppler-utils (pdftotext, pdftoppm) that the tests
# read and picture the PDF with.
ensure_documents() {
  local missing=""
  for p in fonts-ipaexfont-gothic fonts-ipaexfont-mincho poppler-utils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] || apt_install $missing
}

# The mail server (issue 13): Dovecot 2.3 with IMAP, LMTP, Sieve and the SQL drivers, and Postfix's
# SQL maps (postmap, for checking them). Installed without starting Debian's own services (a
# policy-rc.d that refuses them for the install), Postfix with "No configuration": the project
# runs Dovecot itself with its own configuration. Run as root, Dovecot keeps the mailboxes as the
# unprivileged user mypage-mail, created here.
ensure_mail_server() {
  local packages="dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-sqlite dovecot-pgsql postfix postfix-sqlite postfix-pgsql"
  local missing=""
  for p in $packages; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy" && created_policy=1
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
    apt_install $missing
    [ -n "$created_policy" ] && as_root rm -f "$policy"
  fi
  if [ "$(id -u)" = 0 ] && ! id mypage-mail >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mypage-mail
  fi
}
