"""Faults between the portal and the mail server (issue 13 point 7): with Dovecot stopped the
portal works and loses nothing (what changed meanwhile is what Dovecot reads when it is back);
with the database briefly unavailable Dovecot refuses logins as a temporary failure — never as a
wrong password — and recovers by itself. There is no provisioning job to kill: Dovecot reads the
portal's committed rows, so there is nothing to replay."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection

from mypage.accounts.models import AccountId
from mypage.mail import services
from tests.support.accounts import ACTOR
from tests.support.dovecot import Dovecot
from tests.support.logins import ADMIN_002, logged_in_client
from tests.support.pages import token_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ID, PASSWORD, ADDRESS = "arteri-an-002", "demo-acct-002", "arteri-an-002@s2.spaaqs.ne.jp"
NEW_PASSWORD = "Kawa-Sumi-8821"


def change_password_in_the_portal() -> None:
    client = logged_in_client(ADMIN_002)
    url = f"/account-ids/{ID}/password/"
    response = client.post(
        url, {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    confirm = client.get(response["Location"])
    done = client.post(response["Location"], {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302 and "/complete/" in done["Location"], done.get("Location")


def test_with_dovecot_stopped_the_portal_works_and_loses_nothing(demo, dovecot: Dovecot):
    dovecot.stop()
    change_password_in_the_portal()
    services.forwarding_set(
        account=AccountId.live.get(account_id=ID),
        actor=ACTOR,
        brand_name="Spaaqs光",
        settings=services.ForwardingSettings(("later@example.com",), True),
    )
    dovecot.start()
    assert dovecot.refusal(ID, PASSWORD) == "AUTHENTICATIONFAILED"
    assert dovecot.refusal(ID, NEW_PASSWORD) == ""
    assert dovecot.deliver(ADDRESS, "再開後") == {}
    assert dovecot.sink.recorder.wait_for(1, timeout=10)
    assert dovecot.sink.recorder.envelopes[0][1] == ["later@example.com"]


@contextmanager
def database_unavailable(dovecot: Dovecot) -> Iterator[None]:
    """The database refuses the mail server for a while.

    PostgreSQL: the mail role may not log in and its sessions are ended (a database restart or a
    network cut looks the same to Dovecot). SQLite, a file that cannot go away: a maintenance
    connection holds it exclusively (``locking_mode=EXCLUSIVE``), which is possible only while no
    other connection has it open, so Dovecot is restarted into it (its idle connections would hold
    the file) and the test's own connection is closed."""
    if connection.vendor == "postgresql":
        role = settings.MAIL_SERVER["DB_ROLE"]
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER ROLE "{role}" NOLOGIN')
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
            )
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER ROLE "{role}" LOGIN')
        return
    dovecot.stop()
    connection.close()
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=5)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE core_brand SET name = name")
    dovecot.start()
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()  # the exclusive lock goes with the connection


def test_with_the_database_unavailable_logins_fail_temporarily_and_recover(demo, dovecot: Dovecot):
    assert dovecot.refusal(ID, PASSWORD) == ""
    with database_unavailable(dovecot):
        refused = dovecot.refusal(ID, PASSWORD)
        assert refused == "UNAVAILABLE", (refused, dovecot.log_text()[-2000:])
        if connection.vendor == "sqlite":
            # LMTP says "try again later" (4xx): the sending MTA keeps the message and retries;
            # nothing is lost or bounced. (On PostgreSQL it does the same after waiting a minute
            # for the lookup, which would also stretch Dovecot's reconnect back-off: not here.)
            answer = dovecot.deliver(ADDRESS, "障害中")
            assert answer[ADDRESS][0] // 100 == 4, answer
    # Dovecot reconnects by itself (with a growing back-off on PostgreSQL).
    end = time.monotonic() + 90
    while (refused := dovecot.refusal(ID, PASSWORD)) and time.monotonic() < end:
        time.sleep(0.5)
    assert refused == "", dovecot.log_text()[-2000:]
    # Delivery needs the Sieve dict too, which reconnects on its own: until then LMTP answers 451
    # (try again later), as a sending MTA would, and then takes the message.
    while (answer := dovecot.deliver(ADDRESS, "復旧後")) and time.monotonic() < end:
        assert answer[ADDRESS][0] // 100 == 4, answer
        time.sleep(0.5)
    assert answer == {}, dovecot.log_text()[-2000:]
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["復旧後"]
