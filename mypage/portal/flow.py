"""The three-step pattern of SPEC §11 — input → confirm (確認) → complete (完了) — once, for every
procedure of the portal.

A procedure is a subclass of ``Procedure`` that says what its form is, what the confirm screen
shows, and which service ``commit`` calls. ``Procedure.urls()`` gives its three URLs:

    ""                       input        GET: the form; POST 次へ進む: check, keep, → confirm
    "confirm/"               confirm      GET: what will be done; POST 戻る → input, POST 登録 → commit
    "complete/<token>/"      complete     GET: what was done (a reload changes nothing)

A procedure without input (``form_class = None``: a deletion) starts at its confirm screen.

What makes it safe:
- The input checked at 次へ進む is kept in the session (server side), with a fresh one-time token.
  The confirm screen renders from there and writes nothing; its form carries only the token. A
  password is kept only as its Argon2id hash and its 3-character mask.
- The final POST runs ``commit`` through ``mypage.core.once.run_once``: the token is inserted in
  the same transaction as the change, so a double click, a reload or a back-button resubmit
  changes nothing a second time and lands on the first one's complete screen (Post/Redirect/Get).
- Every step is a ``portal_view`` of the procedure's feature: the permission matrix and the
  account-ID scope (404 for another contract's or, for a user ID, another ID) apply to each.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.accounts.services import AccountError
from mypage.audit.services import Actor
from mypage.core import clock
from mypage.core.once import TokenUsedByOther, completion_for, run_once

from .access import portal_view
from .client import client_ip

SESSION_FLOWS = "mypage_flows"
DRAFT_LIFETIME_SECONDS = 30 * 60


def actor_for(request: HttpRequest, viewer: Viewer) -> Actor:
    return Actor(
        kind=str(viewer.role),
        name=viewer.login_name,
        customer_number=viewer.contract.customer_number,
        ip=client_ip(request),
        principal_id=viewer.principal.pk,
        session_key=request.session.session_key,
    )


# What ``secrets.token_urlsafe`` makes; anything else in a token field is refused before any
# comparison or query (a non-ASCII value breaks compare_digest, a NUL breaks PostgreSQL).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Draft:
    token: str
    values: dict[str, Any]  # what the input screen shows again on 戻る (never a password)
    payload: dict[str, Any]  # what commit needs (a password only as hash + mask)


class Invalid(Exception):
    """Raised by ``Procedure.prepare``/``commit``: messages per field (``__all__`` for the form)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class Procedure:
    name: ClassVar[str]  # unique: session key, completion record, URL names
    feature: ClassVar[Feature]
    title: ClassVar[Any]  # the screen's name, e.g. 「アカウントID登録／変更」
    form_class: ClassVar[type[forms.Form] | None] = None
    commit_label: ClassVar[Any] = "登録"
    input_template: ClassVar[str] = "portal/flow_input.html"
    confirm_template: ClassVar[str] = "portal/flow_confirm.html"
    complete_template: ClassVar[str] = "portal/flow_complete.html"
    # Where the complete screen lives, if not under the procedure's own prefix: a deleted ID's
    # URLs answer 404 once it is gone, so its complete screen cannot name it.
    complete_prefix: ClassVar[str | None] = None
    home: ClassVar[str] = "portal:home"  # where an unknown complete screen sends, without its ID

    # --- what a procedure defines ---------------------------------------------------------

    def form(self, request: HttpRequest, viewer: Viewer, account: AccountId | None, **kw: Any) -> forms.Form:
        assert self.form_class is not None
        return self.form_class(**kw)

    def initial(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {}

    def prepare(
        self, form: forms.Form, viewer: Viewer, account: AccountId | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(values to show again on 戻る, payload for commit) from a valid form; raise Invalid."""
        return dict(form.cleaned_data), dict(form.cleaned_data)

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        return []

    def commit(
        self,
        request: HttpRequest,
        actor: Actor,
        payload: dict[str, Any],
        viewer: Viewer,
        account: AccountId | None,
    ) -> dict[str, Any]:
        """Make the change (one service call); return what the complete screen shows."""
        raise NotImplementedError

    def after_commit(self, request: HttpRequest, viewer: Viewer, result: dict[str, Any]) -> None:
        """Session bookkeeping after a fresh commit (e.g. keep this session after a password change)."""

    def context(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        """Extra context of every step (notes, the ID being changed…)."""
        return {}

    # --- the machinery ----------------------------------------------------------------------

    def _key(self, account: AccountId | None) -> str:
        return f"{self.name}:{account.account_id if account else ''}"

    def _draft(self, request: HttpRequest, account: AccountId | None) -> Draft | None:
        raw = request.session.get(SESSION_FLOWS, {}).get(self._key(account))
        if not raw or clock.now().timestamp() - raw["at"] > DRAFT_LIFETIME_SECONDS:
            return None
        return Draft(token=raw["token"], values=raw["values"], payload=raw["payload"])

    def _keep(
        self, request: HttpRequest, account: AccountId | None, values: dict[str, Any], payload: dict[str, Any]
    ) -> Draft:
        draft = Draft(token=secrets.token_urlsafe(24), values=values, payload=payload)
        flows = request.session.get(SESSION_FLOWS, {})
        flows[self._key(account)] = {
            "token": draft.token,
            "values": values,
            "payload": payload,
            "at": clock.now().timestamp(),
        }
        request.session[SESSION_FLOWS] = flows
        return draft

    def _drop(self, request: HttpRequest, account: AccountId | None) -> None:
        flows = request.session.get(SESSION_FLOWS, {})
        if flows.pop(self._key(account), None) is not None:
            request.session[SESSION_FLOWS] = flows

    def _url(self, step: str, account: AccountId | None, *args: str) -> str:
        named = account is not None and (step != "_complete" or self.complete_prefix is None)
        kwargs: dict[str, str] = {"account_id": account.account_id} if named and account else {}
        if args:
            kwargs["token"] = args[0]
        return reverse(f"portal:{self.name}{step}", kwargs=kwargs)

    def _render(
        self,
        request: HttpRequest,
        viewer: Viewer,
        account: AccountId | None,
        template: str,
        ctx: dict[str, Any],
    ) -> HttpResponse:
        from .views import page

        return page(
            request,
            viewer,
            template,
            {
                "procedure": self,
                "title": self.title,
                "account": account,
                **self.context(viewer, account),
                **ctx,
            },
        )

    def input_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        if self.form_class is None:
            return self.confirm_view(request, viewer, account)
        if request.method == "POST":
            form = self.form(request, viewer, account, data=request.POST)
            if form.is_valid():
                try:
                    values, payload = self.prepare(form, viewer, account)
                except Invalid as invalid:
                    _add_errors(form, invalid.errors)
                else:
                    self._keep(request, account, values, payload)
                    return redirect(self._url("_confirm", account))
            return self._render(request, viewer, account, self.input_template, {"form": form})
        draft = self._draft(request, account) if request.GET.get("back") else None
        initial = draft.values if draft else self.initial(viewer, account)
        form = self.form(request, viewer, account, initial=initial)
        return self._render(request, viewer, account, self.input_template, {"form": form})

    def confirm_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        draft = self._draft(request, account)
        if request.method == "POST":
            if request.POST.get("action") == "back":
                return redirect(self._url("", account) + "?back=1")
            return self._commit(request, viewer, account, draft)
        if draft is None:
            if self.form_class is not None:
                return redirect(self._url("", account))
            draft = self._keep(request, account, {}, {})  # confirm-only: the token is made here
        rows = self.confirm_rows(draft, viewer, account)
        return self._render(request, viewer, account, self.confirm_template, {"draft": draft, "rows": rows})

    def _commit(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None, draft: Draft | None
    ) -> HttpResponseBase:
        token = request.POST.get("token", "")
        if not _TOKEN_SHAPE.fullmatch(token):
            token = ""  # never ours (non-ASCII, NUL, 10 kB…): as stale, without a lookup
        principal = viewer.principal
        if draft is None or not secrets.compare_digest(draft.token, token):
            # Already done with this token (a resubmit after the first finished): show that.
            if token and completion_for(token=token, principal=principal, procedure=self.name):
                return redirect(self._url("_complete", account, token))
            messages.error(request, _("画面の有効期限が切れました。お手数ですが、もう一度入力してください。"))
            return redirect(self._url("", account))
        actor = actor_for(request, viewer)
        try:
            completion, fresh = run_once(
                token=token,
                principal=principal,
                procedure=self.name,
                change=lambda: self.commit(request, actor, draft.payload, viewer, account),
            )
        except (AccountError, Invalid) as refused:
            errors = refused.errors
            if self.form_class is None:
                for message_list in errors.values():
                    for message in message_list:
                        messages.error(request, message)
                return redirect(self._url("", account))
            form = self.form(request, viewer, account, initial=draft.values)
            form.is_bound = False
            return self._render(
                request,
                viewer,
                account,
                self.input_template,
                {"form": form, "refused": [m for ms in errors.values() for m in ms], "field_errors": errors},
            )
        except TokenUsedByOther:
            return redirect(self._url("", account))
        self._drop(request, account)
        if fresh:
            self.after_commit(request, viewer, completion.result)
        return redirect(self._url("_complete", account, token))

    def complete_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None, token: str = ""
    ) -> HttpResponseBase:
        completion = (
            completion_for(token=token, principal=viewer.principal, procedure=self.name)
            if _TOKEN_SHAPE.fullmatch(token)
            else None
        )
        if completion is None:
            return redirect(self._url("", account) if account or self.complete_prefix is None else self.home)
        return self._render(request, viewer, account, self.complete_template, {"result": completion.result})

    def urls(self, prefix: str) -> list[URLPattern]:
        """The procedure's URLs under ``prefix`` (which may hold ``<accountid:account_id>``)."""
        guard = portal_view(self.feature)

        def step(fn: Any, restarts: bool) -> Any:
            view = guard(fn)
            # For the matrix test: opened without a kept input, this step sends back to the input.
            view.flow_restarts = restarts  # type: ignore[attr-defined]
            return view

        return [
            path(prefix, step(self.input_view, False), name=self.name),
            path(
                f"{prefix}confirm/",
                step(self.confirm_view, self.form_class is not None),
                name=f"{self.name}_confirm",
            ),
            path(
                f"{self.complete_prefix or prefix}complete/<str:token>/",
                step(self.complete_view, True),
                name=f"{self.name}_complete",
            ),
        ]


def _add_errors(form: forms.Form, errors: dict[str, list[str]]) -> None:
    for name, message_list in errors.items():
        for message in message_list:
            form.add_error(None if name == "__all__" or name not in form.fields else name, message)
