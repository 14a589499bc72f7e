"""Every portal page goes through ``portal_view``: it asks the permission matrix, nothing else.

    @portal_view(Feature.PROFILE)
    def profile(request, viewer): ...

    @portal_view(Feature.MAIL)              # URL has <account_id>: resolved in scope or 404
    def mail(request, viewer, account): ...

The decorated view carries ``.feature`` so that the authorization-matrix test can read, for
every URL of the URL conf, which row of the table guards it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from mypage.accounts.permissions import Feature, Verdict
from mypage.accounts.selectors import Viewer, account_in_scope, live_account_count, viewer_for
from mypage.audit.models import ActorKind
from mypage.audit.services import Actor
from mypage.core import clock
from mypage.core.client import client_ip

SESSION_STEP_UP_AT = "mypage_step_up_at"

# Features a Spaaqs contract without any account ID may still open (F-ACCT-FIRST).
OPEN_BEFORE_FIRST_ACCOUNT = {Feature.ACCT, Feature.NOTICES, Feature.SUPPORT}

View = Callable[..., HttpResponseBase]


def current_viewer(request: HttpRequest) -> Viewer | None:
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_mypage_viewer", None)
    if cached is None:
        cached = viewer_for(request.user)
        request._mypage_viewer = cached  # type: ignore[attr-defined]
    return cached


def actor_for(request: HttpRequest, viewer: Viewer) -> Actor:
    """Who acts in this request, as the services and the audit log want it."""
    return Actor(
        kind=ActorKind(viewer.role.value),
        name=viewer.login_name,
        customer_number=viewer.contract.customer_number,
        ip=client_ip(request),
        principal_id=viewer.principal.pk,
        session_key=request.session.session_key,
    )


def step_up_is_valid(request: HttpRequest) -> bool:
    at = request.session.get(SESSION_STEP_UP_AT)
    if at is None:
        return False
    return clock.now().timestamp() - float(at) < settings.STEP_UP_VALIDITY.total_seconds()


def needs_first_account(viewer: Viewer) -> bool:
    """F-ACCT-FIRST: the brand requires an account ID and the contract has none yet."""
    if viewer.account is not None or not viewer.contract.plan.brand.requires_account_id:
        return False
    # PrincipalBackend answers this in the query that loads the principal.
    known = getattr(viewer.principal, "contract_has_account", None)
    if known is not None:
        return not known
    return live_account_count(viewer.contract) == 0


def portal_view(feature: Feature) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            viewer = current_viewer(request)
            if viewer is None:
                return redirect_to_login(request.get_full_path(), reverse(settings.LOGIN_URL))
            decision = viewer.can(feature)
            if decision.verdict is Verdict.NOT_OFFERED:
                raise Http404
            if decision.verdict is Verdict.DENY:
                raise PermissionDenied
            if decision.verdict is Verdict.STEP_UP and not step_up_is_valid(request):
                return redirect_to_login(request.get_full_path(), reverse("portal:step_up"))
            if feature not in OPEN_BEFORE_FIRST_ACCOUNT and needs_first_account(viewer):
                return redirect("portal:account_new")
            if "account_id" in kwargs:
                kwargs["account"] = account_in_scope(
                    viewer=viewer, account_id=kwargs.pop("account_id"), decision=decision
                )
            elif decision.own_account_only:
                # A user ID acts on an account-scoped function for its own ID only (SPEC §2 ○),
                # through its ID's pages: a contract-wide page of it (オンラインストレージ for every
                # ID) is the holder's and admin IDs'.
                raise PermissionDenied
            return view(request, viewer, *args, **kwargs)

        wrapped.feature = feature  # type: ignore[attr-defined]
        return wrapped

    return decorate


def public_view(view: View) -> View:
    """Marks a view anyone may open (login, logout): the matrix test expects it to answer."""
    view.public = True  # type: ignore[attr-defined]
    return view
