"""mail.server.render: the mail server's configuration for SQLite and PostgreSQL, and a database
password kept out of world-readable files."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mypage.mail.server import Database, render


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A directory Dovecot's unprivileged users can reach (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="mypage-conf-", dir="/var/tmp"))
    root.chmod(0o755)
    yield root / "m"
    shutil.rmtree(root, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_the_lookups_open_the_database_file(reachable):
    conf = render(reachable, db=Database("sqlite", path="/srv/mypage.sqlite3"))
    sql = (conf.parent / "dovecot-sql.conf.ext").read_text()
    assert "driver = sqlite" in sql and 'connect = "/srv/mypage.sqlite3"' in sql
    assert "FROM mailserver_passdb" in sql and "FROM mailserver_userdb" in sql
    assert "sieve = sqlite:" in conf.read_text()
    assert "dbpath = /srv/mypage.sqlite3" in (conf.parent / "postfix/virtual_mailbox_maps.cf").read_text()
    assert "auth_cache_size = 0" in conf.read_text()


def test_postgresql_through_the_mail_role_and_its_password_kept_private(reachable):
    db = Database(
        "pgsql", host="db.internal", port="5432", name="mypage", user="mypage_mail", password="s3cret"
    )
    conf = render(reachable, db=db)
    sql = conf.parent / "dovecot-sql.conf.ext"
    assert (
        'connect = "host=db.internal port=5432 dbname=mypage user=mypage_mail password=s3cret"'
        in sql.read_text()
    )
    maps = conf.parent / "postfix/virtual_mailbox_maps.cf"
    assert "hosts = db.internal:5432" in maps.read_text() and "password = s3cret" in maps.read_text()
    for path in (
        sql,
        conf.parent / "dovecot-dict-sieve.conf.ext",
        maps,
        conf.parent / "postfix/virtual_mailbox_domains.cf",
    ):
        assert mode(path) == 0o640, path
    assert "s3cret" not in conf.read_text() and mode(conf) & 0o004  # dovecot.conf itself holds none


def test_without_a_password_the_files_are_plain(reachable):
    conf = render(
        reachable, db=Database("pgsql", host="127.0.0.1", port="5432", name="x", user="mypage_mail")
    )
    assert (
        "password"
        not in (conf.parent / "dovecot-sql.conf.ext").read_text().split("connect", 1)[1].split("\n")[0]
    )


def test_a_directory_the_mail_processes_cannot_reach_is_refused_with_a_clear_message(tmp_path):
    db = Database("sqlite", path="/srv/mypage.sqlite3")
    if os.geteuid() != 0:  # rootless: everything runs as this user, who can reach its own directory
        assert render(tmp_path / "m", db=db).exists()
        return
    with pytest.raises(ValueError, match="cannot enter; set MAIL_SERVER_DIR"):
        render(tmp_path / "m", db=db)  # pytest's tmp_path is 0700 root
