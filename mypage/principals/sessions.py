"""Open sessions per principal: recorded at login, forgotten at logout, ended on demand.

``principal_sessions_end`` deletes the sessions through the configured session engine (database,
or Redis and database with ``cached_db``), so an ended session is gone everywhere at once. The
principal's password hash is also part of every session (Django's session auth hash), so a
password change invalidates the old sessions even before they are deleted.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction

from .models import Principal, PrincipalSession


def _store(session_key: str) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def session_opened(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if isinstance(user, Principal) and key:
        PrincipalSession.objects.update_or_create(session_key=key, defaults={"principal": user})


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
