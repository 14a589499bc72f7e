"""The three-step pattern of SPEC §11 — input → confirm (確認) → complete (完了) — once, for every
procedure of the portal.

A procedure says four things: its form, its payload (a frozen dataclass: what the confirm screen
shows and the service needs), its confirm rows, and the one service call ``commit`` makes::

    class CustomerPassword(FormProcedure[PasswordChangeForm, NewPassword, PasswordChanged]):
        name, feature, title = "customer_password", Feature.CUSTOMER_PASSWORD, _("…")
        form_class = PasswordChangeForm

        def prepare(self, step, form) -> NewPassword: ...        # checked input → payload
        def confirm_rows(self, step, payload) -> list[Row]: ...   # what will be done
        def commit(self, step, payload) -> PasswordChanged: ...   # one service call

``FormProcedure.urls(prefix)`` gives its three URLs, each a ``portal_view`` of its feature:

    ""                       input        GET: the form; POST 次へ進む: check, keep, → confirm
    "confirm/"               confirm      GET: what will be done; POST 戻る → input, POST 確定 → commit
    "complete/<token>/"      complete     GET: what was done (a reload changes nothing)

A ``ConfirmOnlyProcedure`` (a deletion) has no input: its first URL is its confirm screen.

What makes it safe:
- The input checked at 次へ進む is kept in the session (server side) as the payload, with a fresh
  one-time token. The confirm screen renders from there and writes nothing; its form carries only
  the token. A password is kept only as its Argon2id hash and its 3-character mask.
- The final POST runs ``commit`` through ``mypage.core.once.run_once``: the token is inserted in
  the same transaction as the change, so a double click, a reload or a back-button resubmit
  changes nothing a second time and lands on the first one's complete screen (Post/Redirect/Get).
- **``commit`` touches only the database.** It runs inside the token's transaction, which holds
  the locks the service takes (the contract's row): a call to another system there would hold
  them for a network round trip and could not be rolled back. The flow runs it inside
  ``core.outside.database_only``, which refuses any socket the process tries to open; outside
  systems are reached through a durable job the service enqueues (``core.jobs``).
- The complete screen shows the confirm rows as they were computed inside the change's
  transaction, just before the change (a procedure may show what the change did instead, through
  ``complete_rows``); they are stored with the token, so a reload shows the same.
- A change that needs another system's answer first (the gateway storing a card) gets it in
  ``before_commit``, after the token check and before the change's transaction, idempotently on
  the draft's token; it may send the browser elsewhere first (3-D Secure) and come back to
  ``_finish``, the change itself.
- Every step is a ``portal_view`` of the procedure's feature: the permission matrix and the
  account-ID scope (404 for another contract's or, for a user ID, another ID) apply to each.
- A refusal is ``core.errors.Refused`` (from ``prepare`` or from the service in ``commit``): the
  input screen shows it again with the messages beside their fields; nothing changed.
- ``EndSession`` from ``prepare`` is not a refusal but the end of the login (「現在のパスワード」
  wrong until its identifier locked, F-LOGIN-5): the flow logs out and the login page says why.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import secrets
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.audit.services import Actor
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import PAGE, Refused
from mypage.core.once import TokenUsedByOther, completion_for, run_once
from mypage.core.outside import database_only
from mypage.principals.models import Principal

from .access import actor_for, portal_view
from .views import page

SESSION_FLOWS = "mypage_flows"
DRAFT_LIFETIME_SECONDS = 30 * 60

# What ``secrets.token_urlsafe`` makes; anything else in a token field is refused before any
# comparison or query (a non-ASCII value breaks compare_digest, a NUL breaks PostgreSQL).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


# --- what procedures exchange with the flow ---------------------------------------------------


class EndSession(Exception):
    """Raised by ``prepare`` when this login must end now: the flow logs the session out and
    sends the browser to the login page, which shows ``message``."""

    def __init__(self, message: str | Promise) -> None:
        self.message = str(message)
        super().__init__(self.message)


@dataclass(frozen=True)
class Row:
    """One line of a confirm or complete screen. ``changed``: marked 「変更」 (or 「削除」 when the
    new value is empty), as お客様情報変更 marks what it changes; ``masked``: a password's mask (the
    confirm screen then explains the mask)."""

    label: str
    value: str
    changed: bool = False
    masked: bool = False


def row(label: str | Promise, value: object, *, changed: bool = False, masked: bool = False) -> Row:
    return Row(str(label), "" if value is None else str(value), changed, masked)


@dataclass(frozen=True)
class Nothing:
    """The payload of a procedure without input, or the result of one whose complete screen
    shows only its rows."""


@dataclass(frozen=True)
class Draft[P]:
    token: str
    values: dict[str, Any]  # what the input screen shows again on 戻る (never a password)
    payload: P


@dataclass(frozen=True)
class Step:
    """One request to a step of a procedure: who asks, about which account ID (if the URL names
    one), and the kept input (at the confirm and complete steps)."""

    request: HttpRequest
    viewer: Viewer
    account: AccountId | None = None
    draft: Draft[Any] | None = None

    @property
    def contract(self) -> Contract:
        return self.viewer.contract

    @property
    def target(self) -> AccountId:
        """The account ID the URL names (account-scoped procedures always have one)."""
        assert self.account is not None, "an account-scoped procedure without an account ID"
        return self.account

    @property
    def actor(self) -> Actor:
        return actor_for(self.request, self.viewer)


# --- payloads and results in the session and the completion record (JSON) --------------------


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    return value


def _load(kind: Any, data: Any) -> Any:
    """``data`` (from ``_dump``) as ``kind``: dataclasses, enums, tuples and ``X | None`` of them."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(kind) if a is not type(None)]
        return _load(inner, data)
    if origin is tuple:
        args = typing.get_args(kind)
        return tuple(_load(args[0], v) for v in data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _load(hints[f.name], data[f.name]) for f in dataclasses.fields(kind)})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    return data


# --- the procedures -----------------------------------------------------------------------------


class Procedure[P, R]:
    """What every procedure has; see ``FormProcedure`` and ``ConfirmOnlyProcedure``."""

    name: ClassVar[str]  # unique: session key, completion record, URL names
    feature: ClassVar[Feature]
    title: ClassVar[str | Promise]  # the screen's name, e.g. 「アカウントID登録／変更」
    commit_label: ClassVar[str | Promise] = gettext_lazy("登録")
    confirm_template: ClassVar[str] = "portal/flow_confirm.html"
    complete_template: ClassVar[str] = "portal/flow_complete.html"
    # Where the complete screen lives, if not under the procedure's own prefix: a deleted ID's
    # URLs answer 404 once it is gone, so its complete screen cannot name it.
    complete_prefix: ClassVar[str | None] = None
    home: ClassVar[str] = "portal:home"  # where an unknown complete screen of such a one sends
    notes: ClassVar[str] = ""  # which cautions the input screen shows (portal/_flow_notes.html)
    payload_type: ClassVar[type]  # P and R, read from the class's generic base
    result_type: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in types.get_original_bases(cls):
            origin, args = typing.get_origin(base), typing.get_args(base)
            concrete = len(args) >= 2 and all(isinstance(a, type) for a in args[-2:])
            if isinstance(origin, type) and issubclass(origin, Procedure) and concrete:
                cls.payload_type, cls.result_type = args[-2], args[-1]

    # --- what a procedure defines -----------------------------------------------------------

    def confirm_rows(self, step: Step, payload: P) -> list[Row]:
        """What the confirm screen shows (and, by default, the complete screen)."""
        raise NotImplementedError

    def commit(self, step: Step, payload: P) -> R:
        """Make the change: one service call, database only (see the module's docstring)."""
        raise NotImplementedError

    def complete_rows(self, step: Step, payload: P, result: R, shown: list[Row]) -> list[Row]:
        """The complete screen's rows: by default the confirm rows ``shown``, computed just before
        the change in its transaction; override to show what the change did (a fee charged)."""
        return shown

    def after_commit(self, step: Step, result: R) -> None:
        """Session bookkeeping after a fresh commit. (A change of the viewer's own password needs
        none: the flow keeps this session logged in by itself.)"""

    def context(self, step: Step) -> dict[str, Any]:
        """Extra context of every step (notes, the ID being changed…)."""
        return {}

    # --- the machinery ------------------------------------------------------------------------

    def _key(self, account: AccountId | None) -> str:
        return f"{self.name}:{account.account_id if account else ''}"

    def _draft(self, request: HttpRequest, account: AccountId | None) -> Draft[P] | None:
        raw = request.session.get(SESSION_FLOWS, {}).get(self._key(account))
        if not raw or clock.now().timestamp() - raw["at"] > DRAFT_LIFETIME_SECONDS:
            return None
        try:
            payload = _load(self.payload_type, raw["payload"])
        except (KeyError, TypeError, ValueError):
            return None  # kept by an older version of this procedure: as expired, never a 500
        return Draft(token=raw["token"], values=raw["values"], payload=payload)

    def _keep(
        self, request: HttpRequest, account: AccountId | None, values: dict[str, Any], payload: P
    ) -> Draft[P]:
        draft = Draft(token=secrets.token_urlsafe(24), values=values, payload=payload)
        flows = request.session.get(SESSION_FLOWS, {})
        flows[self._key(account)] = {
            "token": draft.token,
            "values": values,
            "payload": _dump(payload),
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

    def _render(self, step: Step, template: str, ctx: dict[str, Any]) -> HttpResponse:
        return page(
            step.request,
            step.viewer,
            template,
            {
                "procedure": self,
                "title": self.title,
                "account": step.account,
                "notes": self.notes,
                **self.context(step),
                **ctx,
            },
        )

    def _confirm_page(self, step: Step, draft: Draft[P]) -> HttpResponse:
        step = dataclasses.replace(step, draft=draft)
        rows = self.confirm_rows(step, draft.payload)
        return self._render(step, self.confirm_template, {"draft": draft, "rows": rows})

    def _refused(self, step: Step, draft: Draft[P], refused: Refused) -> HttpResponseBase:
        raise NotImplementedError

    def confirm_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        raise NotImplementedError

    def before_commit(self, step: Step, draft: Draft[P]) -> Draft[P] | HttpResponseBase:
        """The outside step of a commit, before the change's transaction (none by default): a
        procedure whose change needs another system's answer first (the gateway storing a card)
        calls it here, idempotently on ``draft.token``, and returns the draft with what it learnt
        (``update``) — or a response that sends the browser elsewhere first (3-D Secure), from
        which the procedure comes back to ``_finish``. May raise ``Refused``."""
        return draft

    def update(self, step: Step, draft: Draft[P], payload: P) -> Draft[P]:
        """Keep ``payload`` as the draft's, under the same one-time token."""
        flows = step.request.session.get(SESSION_FLOWS, {})
        key = self._key(step.account)
        if key in flows and flows[key].get("token") == draft.token:
            flows[key]["payload"] = _dump(payload)
            step.request.session[SESSION_FLOWS] = flows
        return dataclasses.replace(draft, payload=payload)

    def _commit(self, step: Step, draft: Draft[P] | None) -> HttpResponseBase:
        request, account = step.request, step.account
        token = request.POST.get("token", "")
        if not _TOKEN_SHAPE.fullmatch(token):
            token = ""  # never ours (non-ASCII, NUL, 10 kB…): as stale, without a lookup
        principal = step.viewer.principal
        if draft is None or not secrets.compare_digest(draft.token, token):
            # Already done with this token (a resubmit after the first finished): show that.
            if token and completion_for(token=token, principal=principal, procedure=self.name):
                return redirect(self._url("_complete", account, token))
            messages.error(request, _("画面の有効期限が切れました。お手数ですが、もう一度入力してください。"))
            return redirect(self._url("", account))
        step = dataclasses.replace(step, draft=draft)
        try:
            prepared = self.before_commit(step, draft)
        except Refused as refused:
            return self._refused(step, draft, refused)
        if not isinstance(prepared, Draft):
            return prepared
        return self._finish(dataclasses.replace(step, draft=prepared), prepared)

    def _finish(self, step: Step, draft: Draft[P]) -> HttpResponseBase:
        """The change itself, exactly once for the draft's token, then the complete screen."""
        request, account, token = step.request, step.account, draft.token
        principal = step.viewer.principal
        payload = draft.payload

        def change() -> dict[str, Any]:
            with database_only(f"the commit of {self.name}"):
                shown = self.confirm_rows(step, payload)
                result = self.commit(step, payload)
                rows = self.complete_rows(step, payload, result, shown)
            return {"rows": [[r.label, r.value, r.changed] for r in rows], "result": _dump(result)}

        try:
            completion, fresh = run_once(token=token, principal=principal, procedure=self.name, change=change)
        except Refused as refused:
            return self._refused(step, draft, refused)
        except TokenUsedByOther:
            return redirect(self._url("", account))
        self._drop(request, account)
        if fresh:
            _keep_session_after_own_password_change(request, principal)
            self.after_commit(step, _load(self.result_type, completion.result["result"]))
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
        stored = completion.result
        return self._render(
            Step(request, viewer, account),
            self.complete_template,
            {
                "rows": [Row(label, value, changed) for label, value, changed in stored["rows"]],
                "result": _load(self.result_type, stored["result"]),
            },
        )

    def input_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        raise NotImplementedError

    def urls(self, prefix: str) -> list[URLPattern]:
        """The procedure's URLs under ``prefix`` (which may hold ``<accountid:account_id>``)."""
        guard = portal_view(self.feature)
        return [
            path(prefix, guard(self.input_view), name=self.name),
            path(f"{prefix}confirm/", guard(self.confirm_view), name=f"{self.name}_confirm"),
            path(
                f"{self.complete_prefix or prefix}complete/<str:token>/",
                guard(self.complete_view),
                name=f"{self.name}_complete",
            ),
        ]


class FormProcedure[F: forms.Form, P, R](Procedure[P, R]):
    """A procedure with an input screen: a form whose checked input becomes the payload."""

    form_class: ClassVar[type[forms.Form]]
    input_template: ClassVar[str] = "portal/flow_input.html"
    initial_values: ClassVar[dict[str, Any]] = {}  # the input screen's first values

    def form(self, step: Step, **kwargs: Any) -> F:
        return typing.cast(F, self.form_class(**kwargs))

    def initial(self, step: Step) -> dict[str, Any]:
        return dict(self.initial_values)

    def prepare(self, step: Step, form: F) -> P:
        """The payload from a valid form; raise ``Refused`` for what the form cannot know."""
        raise NotImplementedError

    def values(self, form: F) -> dict[str, Any]:
        """What 戻る shows again: what was typed, except passwords (never kept)."""
        return {
            name: form[name].value()
            for name, field in form.fields.items()
            if not isinstance(field.widget, forms.PasswordInput)
        }

    def input_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        step = Step(request, viewer, account)
        if request.method == "POST":
            form = self.form(step, data=request.POST)
            if form.is_valid():
                try:
                    payload = self.prepare(step, form)
                except Refused as refused:
                    _add_errors(form, refused.errors)
                except EndSession as ended:
                    logout(request)  # the session and its key are gone, as at ログアウト
                    messages.error(request, ended.message)
                    return redirect(settings.LOGIN_URL)
                else:
                    self._keep(request, account, self.values(form), payload)
                    return redirect(self._url("_confirm", account))
            return self._render(step, self.input_template, {"form": form})
        draft = self._draft(request, account) if request.GET.get("back") else None
        form = self.form(step, initial=draft.values if draft else self.initial(step))
        return self._render(step, self.input_template, {"form": form})

    def confirm_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        draft = self._draft(request, account)
        step = Step(request, viewer, account)
        if request.method == "POST":
            if request.POST.get("action") == "back":
                return redirect(self._url("", account) + "?back=1")
            return self._commit(step, draft)
        if draft is None:
            return redirect(self._url("", account))  # nothing kept (expired, or opened directly)
        return self._confirm_page(step, draft)

    def _refused(self, step: Step, draft: Draft[P], refused: Refused) -> HttpResponseBase:
        """The service refused at commit: the input screen again, as typed, with the messages."""
        form = self.form(step, initial=draft.values)
        return self._render(
            step,
            self.input_template,
            {
                "form": form,
                "refused": refused.errors.get(PAGE, []),
                "field_errors": {k: v for k, v in refused.errors.items() if k != PAGE},
            },
        )


class ConfirmOnlyProcedure[P, R](Procedure[P, R]):
    """A procedure without input (a deletion): its first URL shows the confirm screen, whose
    token is made when it is shown."""

    def payload(self, step: Step) -> P:
        """What the confirm screen is about (by default the payload type made with no arguments:
        ``Nothing`` for a deletion, whose subject is the account ID in the URL)."""
        return typing.cast(P, self.payload_type())

    def input_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        return self.confirm_view(request, viewer, account)

    def confirm_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        step = Step(request, viewer, account)
        if request.method == "POST":
            return self._commit(step, self._draft(request, account))
        draft = self._draft(request, account) or self._keep(request, account, {}, self.payload(step))
        return self._confirm_page(step, draft)

    def _refused(self, step: Step, draft: Draft[P], refused: Refused) -> HttpResponseBase:
        for message in refused.messages:
            messages.error(step.request, message)
        return redirect(self._url("", step.account))


def _keep_session_after_own_password_change(request: HttpRequest, principal: Principal) -> None:
    """A procedure that changed the viewer's own password keeps this session logged in (the
    services end the principal's other sessions, and Django's session hash follows the password)."""
    stored = Principal.objects.filter(pk=principal.pk).values_list("password", flat=True).first()
    if stored is not None and stored != principal.password:
        principal.password = stored
        update_session_auth_hash(request, principal)


def _add_errors(form: forms.Form, errors: dict[str, list[str]]) -> None:
    for name, message_list in errors.items():
        for message in message_list:
            form.add_error(None if name == PAGE or name not in form.fields else name, message)
