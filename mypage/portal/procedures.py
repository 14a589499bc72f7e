"""The account-ID and password procedures (SPEC §4, §9 F-PW; manual §8–§10, §2.5), each a
three-step procedure (``portal.flow``): a form, its payload, its confirm rows, one service call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts import rules, services
from mypage.accounts.models import AccountId, Permission
from mypage.accounts.permissions import Feature, Role
from mypage.accounts.selectors import live_account_count
from mypage.accounts.services import AccountIdChange, AccountNames, NewAccountId, PreparedPassword
from mypage.contracts.models import Contract
from mypage.core.catalogue import CatalogueItem
from mypage.core.client import client_ip, user_agent
from mypage.core.errors import Refused
from mypage.lifecycle import account_delete
from mypage.mail import selectors as mail_selectors
from mypage.principals.models import Principal
from mypage.principals.services import current_password_check
from mypage.subscriptions import selectors as subscription_selectors

from .access import needs_first_account
from .flow import ConfirmOnlyProcedure, EndSession, FormProcedure, Nothing, Row, Step, row
from .forms import AccountIdForm, PasswordChangeForm


def _name_rows(names: AccountNames) -> list[Row]:
    return [
        row(_("氏名"), f"({_('姓')}) {names.family_name} ({_('名')}) {names.given_name}"),
        row(
            _("氏名カナ"), f"({_('姓カナ')}) {names.family_name_kana} ({_('名カナ')}) {names.given_name_kana}"
        ),
        row(_("ユーザーネーム"), names.username),
    ]


def _prepared(step: Step, password: str, account_id: str, principal: Principal | None) -> PreparedPassword:
    return services.password_prepare(
        password,
        identifiers=[account_id, step.contract.customer_number],
        contract=step.contract,
        principal=principal,
    )


def _avoid(step: Step, *identifiers: str) -> list[str]:
    """What a new password of this contract must not contain, for the form's own round."""
    return services.password_avoid(
        identifiers=[*identifiers, step.contract.customer_number], contract=step.contract
    )


def _permission_row(value: str) -> Row:
    return row(_("アカウント権限種別"), Permission(value).label if value in Permission.values else "")


# --- F-ACCT-NEW and F-ACCT-EDIT -----------------------------------------------------------------


@dataclass(frozen=True)
class AccountCreated:
    account_id: str


class AccountNew(FormProcedure[AccountIdForm, NewAccountId, AccountCreated]):
    """F-ACCT-NEW アカウントID登録／変更 (manual §8)."""

    name = "account_new"
    feature = Feature.ACCT
    notes = "account_id"
    title = gettext_lazy("アカウントID登録／変更")
    form_class = AccountIdForm
    initial_values = {"permission": Permission.USER}
    complete_template = "portal/account_new_complete.html"

    def form(self, step: Step, **kwargs: Any) -> AccountIdForm:
        # The typed ID is added to the avoid list by the form itself.
        return AccountIdForm(password_avoid=_avoid(step), **kwargs)

    def context(self, step: Step) -> dict[str, Any]:
        # F-ACCT-FIRST: a Spaaqs contract with no ID is sent here at its first login; say why.
        return {"first_account": needs_first_account(step.viewer)}

    def prepare(self, step: Step, form: AccountIdForm) -> NewAccountId:
        data = form.cleaned_data
        if problems := services.account_create_problems(
            contract=step.contract, account_id=data["account_id"]
        ):
            raise Refused(problems)
        password = _prepared(step, data["password"], data["account_id"], None)
        return NewAccountId(data["account_id"], AccountNames.of(data), data["permission"], password)

    def confirm_rows(self, step: Step, payload: NewAccountId) -> list[Row]:
        return [
            row(_("アカウントID"), payload.account_id),
            *_name_rows(payload.names),
            row(_("パスワード"), payload.password.mask, masked=True),
            _permission_row(payload.permission),
        ]

    def commit(self, step: Step, payload: NewAccountId) -> AccountCreated:
        created = services.account_create(contract=step.contract, actor=step.actor, data=payload)
        return AccountCreated(created.account_id)


class AccountEdit(FormProcedure[AccountIdForm, AccountIdChange, Nothing]):
    """F-ACCT-EDIT アカウントID登録／変更 of an existing ID (manual §9); a user ID its own."""

    name = "account_edit"
    feature = Feature.ACCT_EDIT
    notes = "account_edit"
    title = gettext_lazy("アカウントID登録／変更")
    form_class = AccountIdForm

    def form(self, step: Step, **kwargs: Any) -> AccountIdForm:
        return AccountIdForm(
            editing=True,
            with_permission=step.viewer.role is not Role.USER,
            password_avoid=_avoid(step, step.target.account_id),
            **kwargs,
        )

    def initial(self, step: Step) -> dict[str, Any]:
        return {
            **{f: getattr(step.target, f) for f in rules.PROFILE_FIELDS},
            "permission": step.target.permission,
        }

    def context(self, step: Step) -> dict[str, Any]:
        return {"fixed_rows": [row(_("アカウントID"), step.target.account_id)]}

    def prepare(self, step: Step, form: AccountIdForm) -> AccountIdChange:
        data, target = form.cleaned_data, step.target
        password = (
            _prepared(step, data["password"], target.account_id, target.principal)
            if data["password"]
            else None
        )
        return AccountIdChange(AccountNames.of(data), data.get("permission"), password)

    def confirm_rows(self, step: Step, payload: AccountIdChange) -> list[Row]:
        return [
            row(_("アカウントID"), step.target.account_id),
            *_name_rows(payload.names),
            row(
                _("パスワード"),
                payload.password.mask if payload.password else _("変更しない"),
                masked=payload.password is not None,
            ),
            _permission_row(payload.permission or step.target.permission),
        ]

    def commit(self, step: Step, payload: AccountIdChange) -> Nothing:
        services.account_update(account=step.target, actor=step.actor, data=payload)
        return Nothing()


# --- F-ACCT-DELETE ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    """What deleting an account ID ends with it (manual §10's ご注意, issue 11 point 14): the
    delete confirm screen lists each, the options by name."""

    account_id: str
    mail_address: str  # "" if none
    web_space: bool
    online_storage: bool
    options: list[CatalogueItem]


def _ending(account: AccountId, contract: Contract) -> Ending:
    (loaded,) = mail_selectors.account_ids_with_services(contract, only=account)
    return Ending(
        account_id=loaded.account_id,
        mail_address=loaded.mail_address.address if mail_selectors.has_mail_address(loaded) else "",
        web_space=mail_selectors.has_web_space(loaded),
        online_storage=mail_selectors.has_online_storage(loaded),
        options=subscription_selectors.account_live_products(account),
    )


@dataclass(frozen=True)
class Deleted:
    auto_cancelled: tuple[str, ...]  # mail products cancelled automatically with the ID


class AccountDelete(ConfirmOnlyProcedure[Nothing, Deleted]):
    """F-ACCT-DELETE アカウントID情報削除 (manual §10): confirm → 削除 → complete."""

    name = "account_delete"
    feature = Feature.ACCT
    title = gettext_lazy("アカウントID情報削除")
    commit_label = gettext_lazy("削除")
    confirm_template = "portal/account_delete_confirm.html"
    complete_template = "portal/account_delete_complete.html"
    complete_prefix = "account-ids/deleted/"
    home = "portal:account_list"

    def context(self, step: Step) -> dict[str, Any]:
        brand = step.contract.plan.brand
        if step.account is None:  # the complete screen: the ID is gone
            # F-ACCT-FIRST: that was the contract's last ID, and its brand requires one.
            return {"now_without_id": brand.requires_account_id and live_account_count(step.contract) == 0}
        return {
            "ending": _ending(step.target, step.contract),
            # Deleting it leaves the contract without an ID: the other menu entries close until a
            # new one is registered (access.needs_first_account).
            "last_required_id": brand.requires_account_id and live_account_count(step.contract) == 1,
        }

    def confirm_rows(self, step: Step, payload: Nothing) -> list[Row]:
        (loaded,) = mail_selectors.account_ids_with_services(step.contract, only=step.target)
        mail = loaded.mail_address.address if mail_selectors.has_mail_address(loaded) else _("未登録")
        options = subscription_selectors.account_live_products(step.target)
        return [
            row(_("アカウントID"), loaded.account_id),
            row(_("氏名"), loaded.full_name),
            row(_("アカウント権限種別"), loaded.get_permission_display()),
            row(_("メールアドレス"), mail),
            row(_("Webスペース"), _("登録あり") if mail_selectors.has_web_space(loaded) else _("なし")),
            row(
                _("オンラインストレージ"),
                _("登録あり") if mail_selectors.has_online_storage(loaded) else _("なし"),
            ),
            # Each option ends with the ID (lifecycle.account_delete): named, here and on the
            # complete screen, which shows these rows as they stood before the deletion.
            row(_("オプションサービス"), "、".join(item.name for item in options) or _("なし")),
        ]

    def commit(self, step: Step, payload: Nothing) -> Deleted:
        deleted = account_delete(account=step.target, actor=step.actor)
        return Deleted(deleted.auto_cancelled)


# --- F-PW and アカウントIDパスワード変更 ------------------------------------------------------------

CURRENT_PASSWORD_LOCKED = gettext_lazy(
    "現在のパスワードが一定回数以上正しく入力されなかったため、ログアウトしました。"
    "お手数ですが、しばらく時間をおいてから再度ログインしてください。"
)


@dataclass(frozen=True)
class PasswordChanged:
    notice_to: str  # the address the notice went to ("" if none, or not to be shown)
    notice_sent: bool


class _PasswordChange(FormProcedure[PasswordChangeForm, PreparedPassword, PasswordChanged]):
    form_class = PasswordChangeForm
    commit_label = gettext_lazy("変更")
    identifier_label: Any = ""

    def target_login(self, step: Step) -> tuple[Principal, str]:
        """Whose password changes: the principal and the identifier it logs in with."""
        raise NotImplementedError

    def asks_current(self, step: Step) -> bool:
        return True

    def current_label(self, step: Step) -> tuple[str, str]:
        """「現在のパスワード」's label and help text: which password is asked for."""
        return _("現在のパスワード"), ""

    def form(self, step: Step, **kwargs: Any) -> PasswordChangeForm:
        _principal, identifier = self.target_login(step)
        label, help_text = self.current_label(step)
        return PasswordChangeForm(
            ask_current=self.asks_current(step),
            current_label=label,
            current_help=help_text,
            password_avoid=_avoid(step, identifier),
            **kwargs,
        )

    def prepare(self, step: Step, form: PasswordChangeForm) -> PreparedPassword:
        principal, identifier = self.target_login(step)
        data = form.cleaned_data
        if "current_password" in data:
            # A login of that principal (F-LOGIN-5): throttled, in the login log; locked, the
            # session ends, as a stolen session must not guess the password without limit.
            check = current_password_check(
                principal=principal,
                password=data["current_password"],
                ip=client_ip(step.request),
                user_agent=user_agent(step.request),
            )
            if check.locked:
                raise EndSession(CURRENT_PASSWORD_LOCKED)
            if not check.right:
                raise Refused.field("current_password", _("現在のパスワードが正しくありません。"))
        return _prepared(step, data["password"], identifier, principal)

    def confirm_rows(self, step: Step, payload: PreparedPassword) -> list[Row]:
        _principal, identifier = self.target_login(step)
        return [row(self.identifier_label, identifier), row(_("新しいパスワード"), payload.mask, masked=True)]


class CustomerPassword(_PasswordChange):
    """F-PW お客様番号パスワード変更 (manual §2.5)."""

    name = "customer_password"
    feature = Feature.CUSTOMER_PASSWORD
    title = gettext_lazy("お客様番号パスワード変更")
    identifier_label = gettext_lazy("お客様番号")

    def target_login(self, step: Step) -> tuple[Principal, str]:
        return Principal.objects.get(pk=step.contract.principal_id), step.contract.customer_number

    def current_label(self, step: Step) -> tuple[str, str]:
        # The manual's name of this password (お客様番号パスワード, manual §2.5). An admin ID is
        # logged in with its own password, but this asks the contract's: said in so many words.
        label = _("現在のお客様番号パスワード")
        if step.viewer.account is None:
            return label, ""
        return label, _(
            "お客様番号 “%(number)s” のパスワードです（ログイン中のアカウントID “%(account_id)s” の"
            "パスワードではありません）。"
        ) % {"number": step.contract.customer_number, "account_id": step.viewer.account.account_id}

    def commit(self, step: Step, payload: PreparedPassword) -> PasswordChanged:
        notice_to = services.customer_password_change(
            contract=step.contract, actor=step.actor, password=payload
        )
        return PasswordChanged(notice_to, bool(notice_to))


class AccountPassword(_PasswordChange):
    """アカウントIDパスワード変更: any ID of the contract (holder, admin ID), or a user ID its own."""

    name = "account_password"
    feature = Feature.ACCT_PASSWORD
    title = gettext_lazy("アカウントIDパスワード変更")
    identifier_label = gettext_lazy("アカウントID")

    def target_login(self, step: Step) -> tuple[Principal, str]:
        return step.target.principal, step.target.account_id

    def asks_current(self, step: Step) -> bool:
        # Its own password: the current one first. The holder or an admin ID setting another
        # ID's password does not know it.
        return step.target.principal_id == step.viewer.principal.pk

    def current_label(self, step: Step) -> tuple[str, str]:
        # Asked only of the ID itself (asks_current): its アカウントIDパスワード, named.
        return (
            _("現在のパスワード（ログイン中のアカウントID “%(account_id)s” のパスワード）")
            % {"account_id": step.target.account_id},
            "",
        )

    def commit(self, step: Step, payload: PreparedPassword) -> PasswordChanged:
        notice_to = services.account_password_change(account=step.target, actor=step.actor, password=payload)
        # A user ID may not see the holder's profile (SPEC §2): told only that a notice went.
        shown = notice_to if step.viewer.role is not Role.USER else ""
        return PasswordChanged(shown, bool(notice_to))


ACCOUNT_NEW = AccountNew()
ACCOUNT_EDIT = AccountEdit()
ACCOUNT_DELETE = AccountDelete()
CUSTOMER_PASSWORD = CustomerPassword()
ACCOUNT_PASSWORD = AccountPassword()
