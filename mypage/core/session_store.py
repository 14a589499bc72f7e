"""The session engine with a shared cache (CACHE_URL): Django's ``cached_db``, made safe to lose the
cache. Every session is in the database; the cache only spares a logged-in page its session query.

- **Cache down**: the cache backend (``mypage.core.cache``) answers a miss and drops writes without
  raising, so a session is read from and written to the database alone: pages render, users stay
  logged in, logins work.
- **Never stale when it comes back**: a session saved or deleted while Redis was unreachable (a
  logout, a password change ending the other sessions: ``principal_sessions_end``) may still have
  its old copy in a Redis that was only hung. Three guards, each enough for the common case:
  1. the cache backend deletes the keys of its lost writes before this process uses Redis again;
  2. each copy carries the time it was cached, and a copy cached before this process's last cache
     failure is not trusted: the session is read from the database again (and cached afresh);
  3. a copy lives ``SESSION_CACHE_SECONDS`` (60 s) at most, whatever the session's own age, so
     what neither guard covers (another process lost the write and was killed before Redis came
     back, while this one saw no failure) is stale for at most that long after the cache returns.
  The session auth hash (the password hash, read from the database on every request) also ends a
  session whose password changed, whatever copy the cache holds.

Keys are ``cached_db``'s, so the copies of sessions made before this engine are found and expire.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore


class SessionStore(cached_db.SessionStore):
    cache_key_prefix = cached_db.KEY_PREFIX
    # Django's private attributes, not in django-stubs.
    _cache: Any
    _session: dict[str, Any]
    _get_session_from_db: Any

    def _cache_age(self, age: int) -> int:
        return max(0, min(age, int(settings.SESSION_CACHE_SECONDS)))

    def _trusted(self, cached: Any) -> dict[str, Any] | None:
        if not (isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[1], dict)):
            return None  # absent, or a copy in the format of Django's cached_db
        cached_at, data = cached
        if not isinstance(cached_at, float) or cached_at <= getattr(self._cache, "last_failure", 0.0):
            return None
        trusted: dict[str, Any] = data
        return trusted

    def _cache_put(self, data: dict[str, Any], age: int) -> None:
        self._cache.set(self.cache_key, (time.time(), data), self._cache_age(age))

    def load(self) -> dict[str, Any]:
        try:
            data = self._trusted(self._cache.get(self.cache_key))
        except Exception:  # an invalid key (cached_db's note, #17810): the database decides
            data = None
        if data is None:
            s = self._get_session_from_db()
            if s:
                data = self.decode(s.session_data)
                self._cache_put(data, self.get_expiry_age(expiry=s.expire_date))
            else:
                data = {}
        return data

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        self._cache_put(self._session, self.get_expiry_age())

    async def aload(self) -> dict[str, Any]:  # the portal is WSGI; kept consistent for ASGI
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.load)()

    async def asave(self, must_create: bool = False) -> None:
        from asgiref.sync import sync_to_async

        await sync_to_async(self.save)(must_create)
