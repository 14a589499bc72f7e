"""The configuration of the mail server that reads the portal's database (issue 13; docs/mail-server.md):
Dovecot 2.3 (IMAP, LMTP, Sieve through Pigeonhole) and Postfix's lookup tables, rendered from
settings and the database connection into one directory.

``render(target)`` writes:

- ``dovecot.conf``: listeners, users, quota, Sieve;
- ``dovecot-sql.conf.ext``: the password and user lookups over ``mailserver_passdb`` and
  ``mailserver_userdb``;
- ``dovecot-dict-sieve.conf.ext``: the Sieve script lookups over ``mailserver_sieve``;
- ``postfix/virtual_mailbox_domains.cf`` and ``postfix/virtual_mailbox_maps.cf``: Postfix's
  ``sqlite:`` or ``pgsql:`` tables over ``mailserver_domains`` and ``mailserver_userdb``, and
  ``postfix/main.cf``, the settings that use them (delivery to Dovecot's LMTP).

Run by root, Dovecot keeps its usual privilege separation with Debian's ``dovecot`` and ``dovenull``
users and stores mail as ``MAIL_USER`` (created by the scripts); run by anyone else, everything runs
as that user (Dovecot's rootless mode). The SQL lookups and the dict run as root only when the
database is an SQLite file, which Dovecot must open itself.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.template import Context, Engine

TEMPLATES = Path(__file__).with_name("server_templates")
MAIL_USER = "mypage-mail"  # the owner of the mailboxes when Dovecot is started by root

_engine = Engine(dirs=[str(TEMPLATES)], autoescape=False, string_if_invalid="<<MISSING %s>>")


@dataclass(frozen=True)
class Database:
    """What the mail server needs of the portal's database."""

    driver: str  # "sqlite" | "pgsql"
    path: str = ""  # SQLite
    host: str = ""
    port: str = ""
    name: str = ""
    user: str = ""
    password: str = ""

    @property
    def postfix_driver(self) -> str:
        return self.driver

    @property
    def dovecot_connect(self) -> str:
        if self.driver == "sqlite":
            return self.path
        parts = [f"host={self.host}", f"port={self.port}", f"dbname={self.name}", f"user={self.user}"]
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)


def database(alias: str = "default") -> Database:
    """The database the portal uses now (in a test run: the test database), as the mail server
    must reach it: on PostgreSQL through the read-only role."""
    config = connections[alias].settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        path = str(config["NAME"])
        if path == ":memory:" or path.startswith("file:"):
            raise ValueError("the mail server needs an SQLite database file, not an in-memory database")
        return Database("sqlite", path=str(Path(path).resolve()))
    return Database(
        "pgsql",
        host=config.get("HOST") or "127.0.0.1",
        port=str(config.get("PORT") or 5432),
        name=config["NAME"],
        user=str(settings.MAIL_SERVER["DB_ROLE"]),
        password=str(settings.MAIL_SERVER["DB_PASSWORD"]),
    )


@dataclass(frozen=True)
class Users:
    """Who Dovecot's processes run as."""

    internal: str
    login: str
    mail_uid: int
    mail_gid: int
    lookups_as_root: bool  # the SQL lookups and the dict open the SQLite file themselves


def users(db: Database) -> Users:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return Users(me.pw_name, me.pw_name, me.pw_uid, me.pw_gid, lookups_as_root=False)
    mail = pwd.getpwnam(MAIL_USER)
    return Users("dovecot", "dovenull", mail.pw_uid, mail.pw_gid, lookups_as_root=db.driver == "sqlite")


@dataclass(frozen=True)
class Layout:
    """One mail server's directories: ``conf`` (the rendered files), ``run`` (Dovecot's base_dir:
    sockets, pid) and ``mail`` (one home per account ID, its Maildir and Sieve binaries)."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def base_dir(self) -> Path:
        return self.root / "run"

    @property
    def mail_root(self) -> Path:
        return self.root / "mail"


def _reachable_by(path: Path, uid: int) -> bool:
    """Whether every directory above ``path`` lets ``uid`` through."""
    for parent in reversed(path.parents):
        info = parent.stat()
        if info.st_uid != uid and not info.st_mode & stat.S_IXOTH:
            return False
    return True


def prepare(layout: Layout, who: Users) -> None:
    """Create the directories with the owners the processes need; refuse a root that Dovecot's
    unprivileged processes cannot reach (a clear error rather than "Permission denied" later)."""
    for path in (layout.conf, layout.base_dir, layout.mail_root):
        path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        layout.root.chmod(0o755)
        layout.conf.chmod(0o755)
        os.chown(layout.mail_root, who.mail_uid, who.mail_gid)
        for name in (who.internal, MAIL_USER):
            if not _reachable_by(layout.mail_root, pwd.getpwnam(name).pw_uid):
                raise ValueError(
                    f"{layout.root} is inside a directory that user {name} cannot enter; set "
                    "MAIL_SERVER_DIR to a directory it can reach (e.g. /var/tmp/mypage-mail)"
                )


def context(layout: Layout, db: Database, who: Users, **overrides: Any) -> dict[str, Any]:
    config = settings.MAIL_SERVER
    values: dict[str, Any] = {
        "listen": config["LISTEN"],
        "imap_port": config["IMAP_PORT"],
        "lmtp_port": config["LMTP_PORT"],
        "submission_host": config["SUBMISSION_HOST"],
        "conf_dir": str(layout.conf),
        "base_dir": str(layout.base_dir),
        "mail_root": str(layout.mail_root),
        "db": db,
        "users": who,
        "postmaster": "postmaster@localhost",
        "auth_failure_delay": "2 secs",  # a wrong password waits: slows guessing
        "auth_penalty": True,  # ... and longer, up to 15 s, for repeated failures from one address
    }
    values.update(overrides)
    return values


FILES = {
    "dovecot.conf": "dovecot.conf",
    "dovecot-sql.conf.ext": "dovecot-sql.conf.ext",
    "dovecot-dict-sieve.conf.ext": "dovecot-dict-sieve.conf.ext",
    "postfix/virtual_mailbox_domains.cf": "postfix-domains.cf",
    "postfix/virtual_mailbox_maps.cf": "postfix-mailboxes.cf",
    "postfix/main.cf": "postfix-main.cf",
}


def render(root: Path | None = None, db: Database | None = None, **overrides: Any) -> Path:
    """Write the configuration under ``root`` (default ``MAIL_SERVER["DIR"]``); the path of
    ``dovecot.conf``. ``overrides`` replace settings (e.g. ``imap_port`` for a test's free port)."""
    db = db or database()
    layout = Layout(Path(root or str(settings.MAIL_SERVER["DIR"])).resolve())
    who = users(db)
    prepare(layout, who)
    values = context(layout, db, who, **overrides)
    for name, template in FILES.items():
        out = layout.conf / name
        out.parent.mkdir(parents=True, exist_ok=True)
        text = _engine.get_template(template).render(Context(values))
        if "<<MISSING" in text:
            raise ValueError(f"{template}: a value is missing: {text[text.index('<<MISSING') :][:80]}")
        out.write_text(text)
        if db.password and out.suffix in (".ext", ".cf"):
            _private(out, who)
    return layout.conf / "dovecot.conf"


def _private(path: Path, who: Users) -> None:
    """A file holding the database password: readable by its owner and Dovecot's group only."""
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 0, grp.getgrnam(who.internal).gr_gid)
