"""The three-step flow's contract (portal/flow.py, SPEC §11): typed payloads kept server-side, the
complete rows derived from the confirm rows inside the change's transaction, one refusal type, and
``commit`` touching only the database. Uses the probe procedure of ``tests/flow_probe.py``."""

from __future__ import annotations

import dataclasses
import socket
import threading

import pytest
from django.db import transaction
from django.urls import URLPattern, get_resolver

from mypage.accounts.services import AccountNames, NewAccountId, PreparedPassword
from mypage.audit.models import AuditEntry
from mypage.core.models import Completion
from mypage.core.outside import OutsideCallInTransaction, database_only, in_change_transaction, outside_call
from mypage.portal.flow import ConfirmOnlyProcedure, FormProcedure, Procedure, _dump, _load
from tests.support import flow_probe
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.pages import token_of

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.flow_urls")]

URL = "/probe/"


def to_confirm(client, word: str):
    response = client.post(URL, {"word": word, "secret": "s3cret-typed"})
    assert response.status_code == 302 and response["Location"] == f"{URL}confirm/", response.content[:300]
    return client.get(f"{URL}confirm/")


def test_the_payload_is_kept_typed_and_the_complete_rows_are_the_confirm_rows_before_the_change(demo):
    client = logged_in_client(HOLDER_9000)
    before = AuditEntry.objects.count()
    confirm = to_confirm(client, "hello")
    assert f"<th>entries</th><td>{before}</td>" in confirm.content.decode()
    done = client.post(f"{URL}confirm/", {"token": token_of(confirm), "action": "commit"})
    complete = client.get(done["Location"]).content.decode()
    assert AuditEntry.objects.count() == before + 1
    # The rows were computed in the change's transaction, just before the change.
    assert "<th>word</th><td>hello</td>" in complete and f"<th>entries</th><td>{before}</td>" in complete
    stored = Completion.objects.get().result
    assert stored["result"] == {"word": "hello", "inside": "the commit of flow_probe"}
    assert stored["rows"] == [["word", "hello", False], ["entries", str(before), False]]


def test_back_shows_what_was_typed_but_never_a_password(demo):
    client = logged_in_client(HOLDER_9000)
    to_confirm(client, "hello")
    page = client.get(f"{URL}?back=1").content.decode()
    assert 'value="hello"' in page and "s3cret-typed" not in page
    kept = client.session["mypage_flows"]["flow_probe:"]
    assert kept["payload"] == {"word": "hello", "tags": ["a", "b"]} and "s3cret-typed" not in str(kept)


def test_a_refusal_at_commit_shows_the_input_again_with_the_messages(demo):
    client = logged_in_client(HOLDER_9000)
    confirm = to_confirm(client, "refuse")
    page = client.post(f"{URL}confirm/", {"token": token_of(confirm), "action": "commit"}).content.decode()
    assert "refused at commit" in page and "the page message" in page and 'value="refuse"' in page
    assert not Completion.objects.exists()
    assert not AuditEntry.objects.filter(target="refuse").exists()  # the change rolled back


def test_a_refusal_at_prepare_marks_the_field(demo):
    client = logged_in_client(HOLDER_9000)
    page = client.post(URL, {"word": "early"}).content.decode()
    assert "refused at 次へ進む" in page and 'class="has-error"' in page


@pytest.fixture
def listener():
    """A socket on 127.0.0.1 that accepts connections (so that only the guard can refuse one)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept() -> None:
        try:
            while True:
                conn, _addr = server.accept()
                accepted.append(conn)
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    flow_probe.TARGET[:] = [server.getsockname()]
    yield server.getsockname()
    server.close()
    for conn in accepted:
        conn.close()


def test_a_commit_that_opens_a_network_connection_is_refused_and_changes_nothing(demo, listener):
    socket.create_connection(listener, timeout=2).close()  # outside a commit it connects
    client = logged_in_client(HOLDER_9000)
    confirm = to_confirm(client, "network")
    with pytest.raises(OutsideCallInTransaction, match="the commit of flow_probe"):
        client.post(f"{URL}confirm/", {"token": token_of(confirm), "action": "commit"})
    assert not Completion.objects.exists()
    assert not AuditEntry.objects.filter(target="network").exists()


def test_the_guards_refuse_outside_calls_where_only_the_database_may_be_used(listener):
    with database_only("a test"), pytest.raises(OutsideCallInTransaction):
        socket.create_connection(listener, timeout=2)
    with database_only("a test"), pytest.raises(OutsideCallInTransaction):
        outside_call("the payment gateway")
    assert not in_change_transaction()  # the test case's own transaction does not count
    outside_call("the payment gateway")  # allowed here
    with transaction.atomic():
        assert in_change_transaction()
        with pytest.raises(OutsideCallInTransaction, match="durable job"):
            outside_call("the payment gateway")


def _procedures() -> list[Procedure]:
    found: dict[str, Procedure] = {}
    for pattern in get_resolver("config.urls").url_patterns[0].url_patterns:
        if isinstance(pattern, URLPattern):
            owner = getattr(getattr(pattern.callback, "__wrapped__", None), "__self__", None)
            if isinstance(owner, Procedure):
                found[owner.name] = owner
    return list(found.values())


def test_every_procedure_has_frozen_dataclass_payload_and_result():
    procedures = _procedures()
    assert {p.name for p in procedures} >= {"account_new", "account_delete", "profile", "warranty"}
    for procedure in procedures:
        assert isinstance(procedure, FormProcedure | ConfirmOnlyProcedure), procedure.name
        for kind in (procedure.payload_type, procedure.result_type):
            assert dataclasses.is_dataclass(kind), (procedure.name, kind)
            assert kind.__dataclass_params__.frozen, (procedure.name, kind)  # type: ignore[attr-defined]


def test_payloads_survive_the_session_and_the_completion_record():
    payload = NewAccountId(
        account_id="taro-new",
        names=AccountNames("山田", "太郎", "ヤマダ", "タロウ", "やまだ"),
        permission="user",
        password=PreparedPassword(hash="argon2$x", mask="abc*****"),
    )
    assert _load(NewAccountId, _dump(payload)) == payload


def test_input_kept_in_another_shape_counts_as_expired_not_as_an_error(demo):
    """A draft kept before a deploy changed the payload's shape: the user is asked to start again."""
    client = logged_in_client(HOLDER_9000)
    to_confirm(client, "hello")
    session = client.session
    session["mypage_flows"]["flow_probe:"]["payload"] = {"old_field": "x"}
    session.save()
    assert client.get(f"{URL}confirm/")["Location"] == URL
    response = client.post(f"{URL}confirm/", {"token": "whatever", "action": "commit"})
    assert response["Location"] == URL and not Completion.objects.exists()
