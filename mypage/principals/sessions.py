"""Open sessions per principal: recorded at login, forgotten at logout, ended on demand.

``session_login`` opens a login's session (always under a new key, F-LOGIN-4) and
``session_rotate`` gives an open one a new key (the step-up): each writes the session and its
``PrincipalSession`` row in one transaction, so that no session is left without its row.

``principal_sessions_end`` deletes the sessions through the configured session engine (database,
or Redis and database with ``cached_db``), so an ended session is gone everywhere at once. The
principal's password hash is also part of every session (Django's session auth hash), so a
password change invalidates the old sessions even before they are deleted.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, login
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest

from .models import Principal, PrincipalSession


def _store(session_key: str | None) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def session_opened(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every ``login()`` (the portal's, the back office's, a test's ``force_login``) records its
    session. After Django's ``login()`` flushed another principal's session the new one has no key
    yet: it is saved first, so that it is never without its row."""
    session = getattr(request, "session", None)
    if not isinstance(user, Principal) or session is None:
        return
    if not session.session_key:
        session.save()
    PrincipalSession.objects.update_or_create(session_key=session.session_key, defaults={"principal": user})


def _forget(request: HttpRequest) -> None:
    """After a failed write: a fresh, empty session object in the request, so that nothing of the
    rolled-back one (a key that is not stored) is saved or sent to the client afterwards."""
    request.session = _store(None)
    request.user = AnonymousUser()


def session_login(request: HttpRequest, principal: Principal) -> None:
    """Log ``principal`` in under a new session key, whatever the request's session was.

    Django's ``login()`` keeps the key when the same principal is already logged in; a login must
    issue a new one every time (F-LOGIN-4, ASVS V7.2.4), so a logged-in session is ended first
    (its row, its ``PrincipalSession``). The session (with the login in it) and its
    ``PrincipalSession`` are written in one transaction: the login fails as a whole, or both exist.
    Call it inside the transaction that records the successful attempt.
    """
    try:
        with transaction.atomic():
            session = request.session
            if session.get(SESSION_KEY) is not None:
                old = session.session_key
                session.flush()
                if old:
                    PrincipalSession.objects.filter(session_key=old).delete()
            login(request, principal)  # a new key (cycle_key); session_opened records it
            session.save()  # what the next request reads: the login itself, in this transaction
    except BaseException:
        _forget(request)
        raise


def session_rotate(request: HttpRequest, principal: Principal) -> None:
    """Give the request's session a new key, keeping its data (after the step-up, ASVS V7.2.4):
    the old key opens nothing any more, and the ``PrincipalSession`` row follows the new key."""
    session = request.session
    old = session.session_key
    try:
        with transaction.atomic():
            session.cycle_key()  # the data under a new key; the old key's row deleted
            if old:
                PrincipalSession.objects.filter(session_key=old).delete()
            PrincipalSession.objects.update_or_create(
                session_key=session.session_key, defaults={"principal": principal}
            )
    except BaseException:
        # Rolled back: the old key's row is there again. The request goes on with it (the client
        # keeps its cookie), never with the new key, which is not stored.
        request.session = _store(old)
        raise


def session_closed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        PrincipalSession.objects.filter(session_key=key).delete()


def principal_sessions_end(principal: Principal, *, keep: str | None = None) -> int:
    """End every session of ``principal`` except ``keep`` (the current one, if it stays logged in).

    The session rows are deleted in the caller's transaction (so they end together with the change
    that ends them, or not at all); a shared cache's copies (``cached_db``) are dropped when that
    transaction commits. Returns how many sessions were ended.
    """
    rows = PrincipalSession.objects.filter(principal=principal)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    rows.delete()
    Session.objects.filter(session_key__in=keys).delete()

    def drop_cached() -> None:
        for key in keys:
            _store(key).delete(key)

    transaction.on_commit(drop_cached)
    return len(keys)
