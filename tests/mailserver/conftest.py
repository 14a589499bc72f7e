"""The tests against a real Dovecot (issue 13 point 6): one Dovecot per module over the test
database, started by the tests. Every test module here marks its tests transactional (what a test
writes is committed, so that Dovecot sees it) with ``serialized_rollback`` (the seeded catalogue is
reloaded after each)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command

from tests.support.dovecot import Dovecot


@pytest.fixture(scope="module")
def _dovecot_server(django_db_setup, django_db_blocker) -> Iterator[Dovecot]:
    with django_db_blocker.unblock():
        call_command("mail_server_grant", verbosity=0)  # PostgreSQL: the role that reads the views
        server = Dovecot()
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def dovecot(_dovecot_server: Dovecot) -> Iterator[Dovecot]:
    """The module's Dovecot, running (a test may stop it), with no mail on disk and its SMTP sink
    emptied."""
    if _dovecot_server.process is None:
        _dovecot_server.start()
    _dovecot_server.forget_mail()
    _dovecot_server.sink.recorder.messages.clear()
    _dovecot_server.sink.recorder.envelopes.clear()
    yield _dovecot_server
