"""Django's Redis cache backend, made safe to lose: a Redis that is down or hung is an empty cache
that keeps nothing, never an error page or a stalled request.

Everything this project keeps in the cache is also somewhere else (sessions in the database with
``cached_db``, see ``mypage.core.session_store``; pages are rendered again), so when Redis fails:

- **every call is bounded**: the connect and read timeouts come from the cache's OPTIONS
  (``CACHE_TIMEOUT_SECONDS``, 0.25 s in config/settings.py), with one immediate retry on a refused
  or reset connection (a restarted Redis leaves dead pooled connections) and none on a timeout;
- **a failure opens a small circuit breaker**: for ``CACHE_RETRY_SECONDS`` (OPTIONS
  ``RETRY_SECONDS``) this process does not call Redis at all — reads miss, writes are dropped —
  so a page pays the timeout once, not on every call; then the next call tries again;
- **a write that did not reach Redis is remembered**: Redis may still hold the value from before
  (a hung Redis comes back with everything it had). Before this process uses the cache again, it
  deletes those keys there, so that e.g. a session ended during the outage is not served from the
  old copy. What one process cannot repair (it was killed before Redis came back, or more than
  ``LOST_KEYS_KEPT`` keys were lost) is bounded by the entries' lifetimes (sessions:
  ``SESSION_CACHE_SECONDS``) and by ``last_failure`` (the session store distrusts a copy older
  than this process's last failure).

Django's ``RedisCacheClient.get_client`` also builds a new ``redis.Redis`` object for every cache
operation; with redis-py 8 that constructor fills a table of some 170 response callbacks, about
0.15 ms on this machine — as much as the network round trip it wraps, paid twice on every
logged-in page (the session, then the page cache). A client is only a thin handle on its
connection pool and is safe to share between threads, so one per pool is kept and reused. The
pools themselves are still created lazily, in each worker process after the fork.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger("mypage.cache")

LOST_KEYS_KEPT = 10_000  # per process: beyond this, the entries' own lifetimes bound what is stale
DEFAULT_RETRY_SECONDS = 5.0


@dataclass
class CacheHealth:
    """What this process knows of one Redis server (shared by the threads of the process)."""

    retry_seconds: float = DEFAULT_RETRY_SECONDS
    skip_until: float = 0.0  # time.monotonic(): the breaker is open until then
    last_failure: float = 0.0  # time.time() of the last failed call; 0.0: none yet
    lost: set[str] = field(default_factory=set)  # keys whose write did not reach Redis
    lost_overflow: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def allows_call(self) -> bool:
        return time.monotonic() >= self.skip_until

    def failed(self, exc: BaseException) -> None:
        was_closed = self.last_failure == 0.0 or self.allows_call()
        self.skip_until = time.monotonic() + self.retry_seconds
        self.last_failure = time.time()
        if was_closed:
            name, seconds = type(exc).__name__, self.retry_seconds
            logger.warning("cache unavailable (%s: %s); skipping it for %.1f s", name, exc, seconds)

    def lose(self, keys: Iterable[str]) -> None:
        with self.lock:
            for key in keys:
                if len(self.lost) >= LOST_KEYS_KEPT:
                    self.lost_overflow = True
                    break
                self.lost.add(key)

    def take_lost(self) -> list[str]:
        with self.lock:
            keys, self.lost = list(self.lost), set()
            if self.lost_overflow:
                logger.warning(
                    "more than %d cache writes were lost while the cache was unavailable; the rest "
                    "expire with their entries",
                    LOST_KEYS_KEPT,
                )
                self.lost_overflow = False
            return keys


_health: dict[tuple[str, ...], CacheHealth] = {}
_health_lock = threading.Lock()


def health_of(servers: Iterable[str], retry_seconds: float = DEFAULT_RETRY_SECONDS) -> CacheHealth:
    key = tuple(servers)
    with _health_lock:
        found = _health.get(key)
        if found is None:
            found = _health[key] = CacheHealth(retry_seconds=retry_seconds)
        found.retry_seconds = retry_seconds
        return found


def cache_available(backend: Any = None) -> bool:
    """Is the cache worth calling now (False while the breaker of a failed Redis is open)?"""
    return bool(getattr(backend if backend is not None else default_cache, "available", True))


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions as errors

    return (errors.ConnectionError, errors.TimeoutError, errors.ReadOnlyError, OSError)


_Base: Any = RedisCacheClient  # untyped in django-stubs


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], *, health: CacheHealth, **options: Any) -> None:
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.retry import Retry

        # One immediate retry on a refused or reset connection, none on a timeout.
        options.setdefault("retry", Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}
        self._health = health
        self._errors = _unavailable_errors()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        base: Any = self  # the parent's private attributes are not in django-stubs
        index = base._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in base._pools:
                base._pools[index] = base._pool_class.from_url(base._servers[index], **base._pool_options)
            client = self._clients[index] = base._client(connection_pool=base._pools[index])
        return client

    def _guarded(self, call: Callable[[], Any], *, default: Any, writes: Iterable[str] = ()) -> Any:
        health = self._health
        if not health.allows_call():
            health.lose(writes)
            return default
        try:
            if health.lost:
                self._forget_lost()
            result = call()
        except self._errors as exc:
            health.failed(exc)
            health.lose(writes)
            return default
        return result

    def _forget_lost(self) -> None:
        """Delete, now that Redis answers again, what it may hold from before a lost write."""
        keys = self._health.take_lost()
        try:
            client = self.get_client(None, write=True)
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        except BaseException:
            self._health.lose(keys)
            raise
        if keys:
            logger.info("cache available again; dropped %d entries written while it was not", len(keys))

    # Each operation of the parent, guarded; a write names the keys it changes.
    def add(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._guarded(lambda: _Base.add(self, key, value, timeout), default=False, writes=[key])

    def get(self, key: Any, default: Any) -> Any:
        return self._guarded(lambda: _Base.get(self, key, default), default=default)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        self._guarded(lambda: _Base.set(self, key, value, timeout), default=None, writes=[key])

    def touch(self, key: Any, timeout: Any) -> Any:
        return self._guarded(lambda: _Base.touch(self, key, timeout), default=False, writes=[key])

    def delete(self, key: Any) -> Any:
        return self._guarded(lambda: _Base.delete(self, key), default=False, writes=[key])

    def get_many(self, keys: Any) -> Any:
        return self._guarded(lambda: _Base.get_many(self, keys), default={})

    def has_key(self, key: Any) -> Any:
        return self._guarded(lambda: _Base.has_key(self, key), default=False)

    def incr(self, key: Any, delta: Any) -> Any:
        missing = object()
        found = self._guarded(lambda: _Base.incr(self, key, delta), default=missing, writes=[key])
        if found is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)")
        return found

    def set_many(self, data: Any, timeout: Any) -> None:
        self._guarded(lambda: _Base.set_many(self, data, timeout), default=None, writes=list(data))

    def delete_many(self, keys: Any) -> None:
        keys = list(keys)
        self._guarded(lambda: _Base.delete_many(self, keys), default=None, writes=keys)

    def clear(self) -> Any:
        return self._guarded(lambda: _Base.clear(self), default=False)


class ResilientRedisCache(RedisCache):
    """``RedisCache`` with bounded calls, a circuit breaker and lost-write repair (module note).
    OPTIONS: redis-py's connection options (``socket_connect_timeout``, ``socket_timeout``, …) and
    ``RETRY_SECONDS``, how long a failure keeps this process from calling Redis."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        options = dict(params.get("OPTIONS") or {})
        servers: list[str] = getattr(self, "_servers")  # noqa: B009 (set by the parent, not in the stubs)
        self.health = health_of(servers, float(options.pop("RETRY_SECONDS", DEFAULT_RETRY_SECONDS)))
        self._options = {**options, "health": self.health}
        self._class = ResilientRedisCacheClient

    @property
    def available(self) -> bool:
        return self.health.allows_call()

    @property
    def last_failure(self) -> float:
        """time.time() of this process's last failed call to Redis (0.0: none yet)."""
        return self.health.last_failure


# The name config/settings.py used before the breaker existed.
ReusingRedisCache = ResilientRedisCache
