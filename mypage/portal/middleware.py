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
                session[SESSION_EXPIRED] = True
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
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages carry personal or billing data: no cache may keep them (static files are served
    before this middleware by WhiteNoise, with their own long-lived headers)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response
