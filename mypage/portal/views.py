"""Customer-facing views: thin — parse, call one service or selector, render or redirect."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature, Role, Verdict
from mypage.accounts.selectors import Viewer
from mypage.core import clock
from mypage.core.brands import brand_for_request
from mypage.core.client import client_ip, user_agent
from mypage.mail.selectors import account_services
from mypage.principals.models import PrincipalKind
from mypage.principals.services import login_invalid_record, principal_login, step_up_verify
from mypage.subscriptions.selectors import account_overview, contract_overview

from .access import (
    SESSION_STEP_UP_AT,
    actor_for,
    current_viewer,
    needs_first_account,
    portal_view,
    public_view,
)
from .forms import AccountLoginForm, CustomerLoginForm, StepUpForm
from .middleware import session_expired_take
from .navigation import side_menu
from .pagecache import cached_page


def page(request: HttpRequest, viewer: Viewer, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a logged-in page: header (F-LOGIN-3), side menu, content."""
    return render(
        request,
        template,
        {
            "viewer": viewer,
            "contract": viewer.contract,
            "brand": viewer.contract.plan.brand,
            "side_menu": side_menu(viewer, request.path),
            **context,
        },
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


LOGIN_FAILED = {
    PrincipalKind.HOLDER: gettext_lazy("お客様番号またはパスワードが正しくありません。"),
    PrincipalKind.ACCOUNT: gettext_lazy("アカウントIDまたはパスワードが正しくありません。"),
}


# --- Login / logout (F-LOGIN-1…5) -------------------------------------------------------------


@public_view
@sensitive_post_parameters("c-password", "a-password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    # Shown once (SessionLifetimeMiddleware set it), and never carried into the next login.
    expired = session_expired_take(request)
    if request.method == "GET" and current_viewer(request) is not None:
        return redirect("portal:home")
    forms: dict[str, Any] = {
        "customer": CustomerLoginForm(prefix="c"),
        "account": AccountLoginForm(prefix="a"),
    }
    failed: dict[str, Any] = {}
    form: CustomerLoginForm | AccountLoginForm
    if request.method == "POST":
        which = request.POST.get("form", "")
        if which == "customer":
            kind, form = PrincipalKind.HOLDER, CustomerLoginForm(request.POST, prefix="c")
        else:
            kind, form = PrincipalKind.ACCOUNT, AccountLoginForm(request.POST, prefix="a")
            which = "account"
        forms[which] = form
        ip, agent = client_ip(request), user_agent(request)
        field = "customer_number" if kind == PrincipalKind.HOLDER else "account_id"
        if not form.is_valid():
            login_invalid_record(
                kind=kind, identifier=str(form.data.get(form.add_prefix(field), "")), ip=ip, user_agent=agent
            )
        else:
            # Logged in under a new session key, even over a login of the same principal (F-LOGIN-4).
            result = principal_login(
                request=request,
                kind=kind,
                identifier=form.cleaned_data[field],
                password=form.cleaned_data["password"],
                ip=ip,
                user_agent=agent,
            )
            if result.principal is not None:
                return redirect(_safe_next(request, reverse("portal:home")))
            failed[which] = LOGIN_FAILED[kind]
    return render(
        request,
        "portal/login.html",
        {
            "brand": brand_for_request(request),
            "customer_form": forms["customer"],
            "account_form": forms["account"],
            "failed": failed,
            "expired": expired,
            "next": _safe_next(request, ""),
        },
    )


@public_view
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the session: the old cookie is dead
    messages.info(request, _("ログアウトしました。"))
    return redirect("portal:login")


@public_view
def home(request: HttpRequest) -> HttpResponseBase:
    """Where a principal lands after login."""
    viewer = current_viewer(request)
    if viewer is None:
        return redirect("portal:login")
    if viewer.role is Role.USER:
        return redirect("portal:user_home")
    if needs_first_account(viewer):
        return redirect("portal:account_new")
    return redirect("portal:overview")


@portal_view(Feature.OVERVIEW)
def overview(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    def render_overview() -> HttpResponse:
        data = contract_overview(viewer.contract)
        return page(
            request,
            viewer,
            "portal/overview.html",
            {
                "o": data,
                "prompt_first_account": not data.accounts,
                "can_manage_accounts": viewer.can(Feature.ACCT).verdict is Verdict.ALLOW,
            },
        )

    return cached_page(request, viewer, render_overview)


@portal_view(Feature.ACCT)
def account_list(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """F-ACCT-LIST アカウントID管理 (manual §8–§10)."""
    rows = account_services(viewer.contract)  # the account IDs only: one query
    limit = viewer.contract.plan.account_id_limit
    return page(
        request,
        viewer,
        "portal/account_list.html",
        {"rows": rows, "limit": limit, "can_add": len(rows) < limit},
    )


@portal_view(Feature.USER_HOME)
def user_home(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    assert viewer.account is not None
    return page(request, viewer, "portal/user_home.html", {"row": account_overview(viewer.account)})


@sensitive_post_parameters("c-password")
@portal_view(Feature.SUPPORT)
def step_up(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """(※) pages: お客様番号 + お客様番号パスワード asked again, then the page opens."""
    form = StepUpForm(request.POST or None, prefix="c")
    failed: Any = ""
    if request.method == "POST" and form.is_valid():
        if step_up_verify(
            request=request,
            actor=actor_for(request, viewer),
            customer_number=viewer.contract.customer_number,
            typed_number=form.cleaned_data["customer_number"],
            password=form.cleaned_data["password"],
            ip=client_ip(request),
            user_agent=user_agent(request),
        ):  # the session now has a new key: the cookie from before the step-up opens nothing
            request.session[SESSION_STEP_UP_AT] = clock.now().timestamp()
            return redirect(_safe_next(request, reverse("portal:home")))
        failed = LOGIN_FAILED[PrincipalKind.HOLDER]
    return page(
        request,
        viewer,
        "portal/step_up.html",
        {"form": form, "failed": failed, "next": _safe_next(request, "")},
    )


# --- Pages whose features come in later issues ------------------------------------------------


def coming_soon(feature: Feature, title: Any) -> Any:
    """A "準備中" page, already guarded by the matrix like the real page will be."""

    @portal_view(feature)
    def view(request: HttpRequest, viewer: Viewer, account: AccountId | None = None) -> HttpResponse:
        return page(request, viewer, "portal/coming_soon.html", {"title": title, "account": account})

    view.__name__ = view.__qualname__ = f"coming_soon_{feature.name.lower()}"
    return view
