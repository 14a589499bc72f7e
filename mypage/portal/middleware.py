"""Session lifetime (F-LOGIN-4) and cache headers (SPEC §14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

from mypage.core import clock

SESSION_LOGIN_AT = "mypage_login_at"
SESSION_SEEN_AT = "mypage_seen_at"
SESSION_EXPIRED = "mypage_expired"
# Set when the browser presented a session the store does not know. A cookie, not a session: a
# request with a made-up session cookie must not make the portal write a session row.
EXPIRED_COOKIE_SALT = "mypage.session-gone"
EXPIRED_COOKIE_SECONDS = 600
_GONE = "_mypage_session_gone"  # request attribute: None, or whether the flag cookie must be set
_TAKEN = "_mypage_expired_taken"


def expired_cookie_name() -> str:
    return ("__Host-" if settings.SESSION_COOKIE_SECURE else "") + "mypage_expired"


def session_expired_take(request: HttpRequest) -> bool:
    """Whether the login page should say 「セッションの有効期限が切れました」: once, and never into
    the next login. Reads (and clears) the session's flag, this request's finding and the cookie."""
    expired = bool(request.session.pop(SESSION_EXPIRED, False))
    if getattr(request, _GONE, False):
        expired = True
        setattr(request, _GONE, False)  # told now: no cookie for the next page
    if request.COOKIES.get(expired_cookie_name()):
        setattr(request, _TAKEN, True)
        if request.get_signed_cookie(
            expired_cookie_name(), default=None, salt=EXPIRED_COOKIE_SALT, max_age=EXPIRED_COOKIE_SECONDS
        ):
            expired = True
    return expired


def stamp_login(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = clock.now().timestamp()
        request.session[SESSION_LOGIN_AT] = now
        request.session[SESSION_SEEN_AT] = now


class SessionLifetimeMiddleware:
    """Ends a login 30 minutes after its last request, and 12 hours after it began: this
    middleware is the authority on both, so it can tell the login page why (「セッションの有効期限が
    切れました」, shown once).

    The stored session lives as long as the absolute timeout (SESSION_COOKIE_AGE, moved on by every
    write), so an idle session is still there to be recognised when its owner comes back. One that
    is gone all the same (a browser back after more than 12 hours, a session ended by a password
    change elsewhere) is recognised by its cookie: the browser sends a session key the store does
    not know. The last-seen time is written at most once a minute, so a page view does not write
    the session row on every request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.get(SESSION_KEY) is None:
            # A cookie whose session the store does not have (loading it dropped the key): a login
            # that ended without a logout. A logout deletes the cookie, so a logged-out visitor has none.
            if request.COOKIES.get(settings.SESSION_COOKIE_NAME) and session.session_key is None:
                setattr(request, _GONE, True)
        else:
            now = clock.now().timestamp()
            login_at = float(session.get(SESSION_LOGIN_AT, 0))  # no stamp: treat as expired
            seen_at = float(session.get(SESSION_SEEN_AT, login_at))
            if (
                now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
                or now - seen_at > settings.SESSION_IDLE_TIMEOUT.total_seconds()
            ):
                logout(request)
                session[SESSION_EXPIRED] = True  # shown once on the login page
            elif now - seen_at > settings.SESSION_TOUCH_INTERVAL.total_seconds():
                session[SESSION_SEEN_AT] = now
        response = self.get_response(request)
        name = expired_cookie_name()
        if getattr(request, _GONE, False):
            response.set_signed_cookie(
                name, "1", salt=EXPIRED_COOKIE_SALT, max_age=EXPIRED_COOKIE_SECONDS, path="/",
                secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
            )  # fmt: skip
        elif getattr(request, _TAKEN, False):
            response.delete_cookie(name, path="/", samesite="Lax")
        return response


class NoStoreMiddleware:
    """Pages carry personal or billing data: no cache may keep them (static files are served
    before this middleware by WhiteNoise, with their own long-lived headers)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response
