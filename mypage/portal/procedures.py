"""The account-ID and password procedures (SPEC §4, §9 F-PW; manual §8–§10, §2.5), each a
three-step ``Procedure``: the form, what the confirm screen shows, which service commits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts import services
from mypage.accounts.models import AccountId, Permission
from mypage.accounts.permissions import Feature, Role
from mypage.accounts.selectors import Viewer
from mypage.audit.services import Actor
from mypage.mail import selectors as mail_selectors
from mypage.principals.models import Principal

from .flow import Draft, Invalid, Procedure
from .forms import AccountIdForm, PasswordChangeForm

PROFILE = AccountIdForm.PROFILE
MASK_NOTE = gettext_lazy(
    "※パスワードは入力された最初の3文字がそのまま表示され、以降はのぞき見防止のため「*」で伏せています。"
    "大文字/小文字の入力誤りなどの確認にご利用ください。"
)


def _prepared(password: str, viewer: Viewer, account_id: str, principal: Principal | None) -> dict[str, str]:
    try:
        prepared = services.password_prepare(
            password,
            identifiers=[account_id, viewer.contract.customer_number],
            contract=viewer.contract,
            principal=principal,
        )
    except ValidationError as refused:
        raise Invalid({"password": list(refused.messages)}) from None
    return prepared.as_dict()


def _name_rows(values: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_("氏名"), f"({_('姓')}) {values['family_name']} ({_('名')}) {values['given_name']}"),
        (
            _("氏名カナ"),
            f"({_('姓カナ')}) {values['family_name_kana']} ({_('名カナ')}) {values['given_name_kana']}",
        ),
        (_("ユーザーネーム"), values["username"]),
    ]


def _permission_label(value: str) -> str:
    return str(Permission(value).label) if value in Permission.values else ""


def _keep_this_session(request: HttpRequest, viewer: Viewer, principal_id: int) -> None:
    """After this principal's own password changed: this session stays logged in."""
    if viewer.principal.pk == principal_id:
        update_session_auth_hash(request, Principal.objects.get(pk=principal_id))


class AccountNew(Procedure):
    """F-ACCT-NEW アカウントID登録／変更 (manual §8)."""

    name = "account_new"
    feature = Feature.ACCT
    title = gettext_lazy("アカウントID登録／変更")
    form_class = AccountIdForm
    commit_label = gettext_lazy("登録")
    complete_template = "portal/account_new_complete.html"

    def form(self, request: HttpRequest, viewer: Viewer, account: AccountId | None, **kw: Any) -> forms.Form:
        return AccountIdForm(**kw)

    def initial(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {"permission": Permission.USER}

    def context(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {"notes": "account_id"}

    def prepare(
        self, form: forms.Form, viewer: Viewer, account: AccountId | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        data = form.cleaned_data
        if services.account_limit_reached(viewer.contract):
            raise Invalid(
                {
                    "__all__": [
                        _("アカウントIDの登録可能数(%(n)d個)に達しています。")
                        % {"n": viewer.contract.plan.account_id_limit}
                    ]
                }
            )
        if not services.account_id_available(data["account_id"]):
            raise Invalid({"account_id": [_(services.ID_TAKEN)]})
        values = {f: data[f] for f in ("account_id", *PROFILE, "permission")}
        password = _prepared(data["password"], viewer, data["account_id"], None)
        return values, {**values, "password": password}

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        v = draft.payload
        return [
            (_("アカウントID"), v["account_id"]),
            *_name_rows(v),
            (_("パスワード"), v["password"]["mask"]),
            (_("アカウント権限種別"), _permission_label(v["permission"])),
        ]

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        created = services.account_create(
            contract=viewer.contract,
            actor=actor,
            account_id=payload["account_id"],
            profile={f: payload[f] for f in PROFILE},
            permission=payload["permission"],
            password=services.PreparedPassword.from_dict(payload["password"]),
        )
        return {
            "account_id": created.account_id,
            "rows": [
                [str(label), str(value)]
                for label, value in self.confirm_rows(Draft("", {}, payload), viewer, None)
            ],
        }


class AccountEdit(Procedure):
    """F-ACCT-EDIT アカウントID登録／変更 of an existing ID (manual §9); a user ID its own."""

    name = "account_edit"
    feature = Feature.ACCT_EDIT
    title = gettext_lazy("アカウントID登録／変更")
    form_class = AccountIdForm
    commit_label = gettext_lazy("登録")

    def form(self, request: HttpRequest, viewer: Viewer, account: AccountId | None, **kw: Any) -> forms.Form:
        return AccountIdForm(editing=True, with_permission=viewer.role is not Role.USER, **kw)

    def initial(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        assert account is not None
        return {**{f: getattr(account, f) for f in PROFILE}, "permission": account.permission}

    def context(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {
            "notes": "account_edit",
            "fixed_rows": [(_("アカウントID"), account.account_id if account else "")],
        }

    def prepare(
        self, form: forms.Form, viewer: Viewer, account: AccountId | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        assert account is not None
        data = form.cleaned_data
        values = {f: data[f] for f in PROFILE}
        if "permission" in data:
            values["permission"] = data["permission"]
        password = (
            _prepared(data["password"], viewer, account.account_id, account.principal)
            if data["password"]
            else None
        )
        return values, {**values, "password": password}

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        assert account is not None
        v = draft.payload
        rows = [(_("アカウントID"), account.account_id), *_name_rows(v)]
        rows.append((_("パスワード"), v["password"]["mask"] if v["password"] else _("変更しない")))
        rows.append((_("アカウント権限種別"), _permission_label(v.get("permission", account.permission))))
        return rows

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        password = payload["password"]
        changed = services.account_update(
            account=account,
            actor=actor,
            actor_role=viewer.role,
            profile={f: payload[f] for f in PROFILE},
            permission=payload.get("permission"),
            password=services.PreparedPassword.from_dict(password) if password else None,
        )
        rows = self.confirm_rows(Draft("", {}, payload), viewer, account)
        return {
            "rows": [[str(a), str(b)] for a, b in rows],
            "principal": account.principal_id,
            "changed": changed,
        }

    def after_commit(self, request: HttpRequest, viewer: Viewer, result: dict[str, Any]) -> None:
        if "password" in result.get("changed", []):
            _keep_this_session(request, viewer, result["principal"])


class AccountDelete(Procedure):
    """F-ACCT-DELETE アカウントID情報削除 (manual §10): confirm → 削除 → complete."""

    name = "account_delete"
    feature = Feature.ACCT
    title = gettext_lazy("アカウントID情報削除")
    form_class = None
    commit_label = gettext_lazy("削除")
    confirm_template = "portal/account_delete_confirm.html"
    complete_prefix = "account-ids/deleted/"
    home = "portal:account_list"

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        assert account is not None
        (loaded,) = mail_selectors.account_ids_with_services(viewer.contract, only=account)
        mail = loaded.mail_address.address if mail_selectors.has_mail_address(loaded) else _("未登録")
        return [
            (_("アカウントID"), account.account_id),
            (_("氏名"), account.full_name),
            (_("アカウント権限種別"), account.get_permission_display()),
            (_("メールアドレス"), mail),
            (_("Webスペース"), _("登録あり") if mail_selectors.has_web_space(loaded) else _("なし")),
            (
                _("オンラインストレージ"),
                _("登録あり") if mail_selectors.has_online_storage(loaded) else _("なし"),
            ),
        ]

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        rows = self.confirm_rows(Draft("", {}, {}), viewer, account)
        services.account_retire(account=account, actor=actor)
        return {"rows": [[str(a), str(b)] for a, b in rows]}


class _PasswordChange(Procedure):
    form_class = PasswordChangeForm
    commit_label = gettext_lazy("変更")

    def target(self, viewer: Viewer, account: AccountId | None) -> tuple[Principal, str]:
        raise NotImplementedError

    def asks_current(self, viewer: Viewer, account: AccountId | None) -> bool:
        return True

    def form(self, request: HttpRequest, viewer: Viewer, account: AccountId | None, **kw: Any) -> forms.Form:
        return PasswordChangeForm(ask_current=self.asks_current(viewer, account), **kw)

    def prepare(
        self, form: forms.Form, viewer: Viewer, account: AccountId | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        principal, identifier = self.target(viewer, account)
        data = form.cleaned_data
        if "current_password" in data and not check_password(data["current_password"], principal.password):
            raise Invalid({"current_password": [_("現在のパスワードが正しくありません。")]})
        return {}, {"password": _prepared(data["password"], viewer, identifier, principal)}

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        _principal, identifier = self.target(viewer, account)
        return [
            (self.identifier_label, identifier),
            (_("新しいパスワード"), draft.payload["password"]["mask"]),
        ]

    identifier_label: Any = ""

    def after_commit(self, request: HttpRequest, viewer: Viewer, result: dict[str, Any]) -> None:
        _keep_this_session(request, viewer, result["principal"])


class CustomerPassword(_PasswordChange):
    """F-PW お客様番号パスワード変更 (manual §2.5)."""

    name = "customer_password"
    feature = Feature.CUSTOMER_PASSWORD
    title = gettext_lazy("お客様番号パスワード変更")
    identifier_label = gettext_lazy("お客様番号")

    def target(self, viewer: Viewer, account: AccountId | None) -> tuple[Principal, str]:
        return Principal.objects.get(pk=viewer.contract.principal_id), viewer.contract.customer_number

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        notice_to = services.customer_password_change(
            contract=viewer.contract,
            actor=actor,
            password=services.PreparedPassword.from_dict(payload["password"]),
        )
        rows = self.confirm_rows(Draft("", {}, payload), viewer, account)
        return {
            "rows": [[str(a), str(b)] for a, b in rows],
            "principal": viewer.contract.principal_id,
            "notice_to": notice_to,
        }


class AccountPassword(_PasswordChange):
    """アカウントIDパスワード変更: any ID of the contract (holder, admin ID), or a user ID its own."""

    name = "account_password"
    feature = Feature.ACCT_PASSWORD
    title = gettext_lazy("アカウントIDパスワード変更")
    identifier_label = gettext_lazy("アカウントID")

    def target(self, viewer: Viewer, account: AccountId | None) -> tuple[Principal, str]:
        assert account is not None
        return account.principal, account.account_id

    def asks_current(self, viewer: Viewer, account: AccountId | None) -> bool:
        # Its own password: the current one first. The holder or an admin ID setting another
        # ID's password does not know it.
        return account is not None and account.principal_id == viewer.principal.pk

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        notice_to = services.account_password_change(
            account=account, actor=actor, password=services.PreparedPassword.from_dict(payload["password"])
        )
        rows = self.confirm_rows(Draft("", {}, payload), viewer, account)
        return {
            "rows": [[str(a), str(b)] for a, b in rows],
            "principal": account.principal_id,
            # A user ID may not see the holder's profile (SPEC §2): told only that a notice went.
            "notice_to": notice_to if viewer.role is not Role.USER else "",
            "notice_sent": bool(notice_to),
        }


ACCOUNT_NEW = AccountNew()
ACCOUNT_EDIT = AccountEdit()
ACCOUNT_DELETE = AccountDelete()
CUSTOMER_PASSWORD = CustomerPassword()
ACCOUNT_PASSWORD = AccountPassword()
