"""Web space and online storage (SPEC §5): F-WEB Webスペースの登録 of one account ID (it needs the
ID's ISP mailbox) and F-STORAGE オンラインストレージ&フォトアルバム (MULTI plans), with the list of the
contract's IDs and their storage.

Each registration is a three-step procedure (``portal.flow``) of one account ID whose input
screen shows what the ID has now and one button: [登録する] when it has none and the contract has
a free allowance, [解除する] when it has one. The button's value is the form (``action``); a POST
asking for what the state does not allow (登録 of what is registered, 解除 of nothing) is refused
beside the buttons. With no free allowance the register button is greyed out and a notice links
to メールサービス購入 (for those who may buy it). The release's confirm screen warns that what was
saved there is deleted; its commit button is the danger one. ``lifecycle.mail`` checks the state
and the allowance again under the ID's and the contract's locks.

Staff name the upload server per brand (``Brand.web_upload_host``); the login of the upload is
the account ID and its password (the manual names no other), never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature, Verdict
from mypage.accounts.selectors import Viewer
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.formatting import date_short
from mypage.core.models import Brand
from mypage.lifecycle.mail import storage_change, web_space_change
from mypage.mail import selectors as mail_selectors
from mypage.mail import services as mail
from mypage.subscriptions.allowances import Usage, contract_allowance

from .access import portal_view
from .flow import FormProcedure, Row, Step, row
from .mailbox_pages import _MailboxProcedure
from .views import page


class SpaceAction(StrEnum):
    REGISTER = "register"
    RELEASE = "release"


ACTION_LABELS = {
    SpaceAction.REGISTER: gettext_lazy("登録する"),
    SpaceAction.RELEASE: gettext_lazy("解除する"),
}
PICK_ACTION = gettext_lazy("「登録する」または「解除する」ボタンをクリックしてください。")


class SpaceForm(forms.Form):
    """The one button of the input screen: 登録する or 解除する."""

    action = forms.ChoiceField(
        choices=[(a.value, ACTION_LABELS[a]) for a in SpaceAction],
        error_messages={"required": PICK_ACTION, "invalid_choice": PICK_ACTION},
    )


@dataclass(frozen=True)
class SpaceChoice:
    register: bool


@dataclass(frozen=True)
class SpaceChanged:
    register: bool


def homepage_address(brand: Brand, account_id: str) -> str:
    """ホームページアドレス of an account ID's Web space (SPEC §5)."""
    return f"http://www.{brand.web_domain}/~{account_id}/"


class _SpaceProcedure(FormProcedure[SpaceForm, SpaceChoice, SpaceChanged]):
    """What Web space and online storage share: the state, the allowance, the one button."""

    form_class = SpaceForm
    input_template = "portal/space_input.html"
    confirm_template = "portal/space_confirm.html"
    complete_template = "portal/space_complete.html"
    service: ClassVar[Any]  # the service's name on the screens
    full_notice: ClassVar[Any]  # the notice when the allowance is used up
    release_warning: ClassVar[Any]  # what the release's confirm screen warns of

    def registered(self, account: AccountId) -> bool:
        raise NotImplementedError

    def usage(self, step: Step) -> Usage | None:
        raise NotImplementedError

    def state_rows(self, step: Step, registered: bool) -> list[Row]:
        raise NotImplementedError

    def change(self, step: Step, register: bool) -> None:
        raise NotImplementedError

    def back_url(self, step: Step) -> str:
        """Where the complete screen leads back to: the ID's own page of the procedure."""
        return reverse(f"portal:{self.name}", kwargs={"account_id": step.target.account_id})

    def context(self, step: Step) -> dict[str, Any]:
        ctx: dict[str, Any] = {"service": self.service, "release_warning": self.release_warning}
        if step.account is None:
            return ctx
        registered = self.registered(step.target)
        usage = self.usage(step)
        ctx.update(
            registered=registered,
            usage=usage,
            full=not registered and (usage is None or usage.free <= 0),
            full_notice=self.full_notice,
            can_buy_mail=step.viewer.can(Feature.MAILOPT).verdict is Verdict.ALLOW,
            state_rows=self.state_rows(step, registered),
            action_labels=ACTION_LABELS,
            back_url=self.back_url(step),
        )
        if step.draft is not None:
            register = step.draft.payload.register
            ctx.update(
                commit_label=_("登録") if register else _("解除"),
                danger=not register,
                releasing=not register,
            )
        return ctx

    def prepare(self, step: Step, form: SpaceForm) -> SpaceChoice:
        register = form.cleaned_data["action"] == SpaceAction.REGISTER
        registered = self.registered(step.target)
        named = {"service": self.service}
        if register and registered:
            raise Refused.field("action", _("%(service)sは既に登録されています。") % named)
        if not register and not registered:
            raise Refused.field("action", _("%(service)sは登録されていません。") % named)
        if register:
            usage = self.usage(step)
            if usage is None or usage.free <= 0:
                raise Refused.field("action", str(self.full_notice))
        return SpaceChoice(register=register)

    def confirm_rows(self, step: Step, payload: SpaceChoice) -> list[Row]:
        return [
            row(_("アカウントID"), step.target.account_id),
            row(_("サービス"), self.service),
            row(_("お申し込み内容"), _("登録する") if payload.register else _("解除する")),
            row(_("月額利用料"), _("無料（ご契約の登録可能数の範囲内）")),
            row(_("お申込み日"), date_short(clock.today())),
        ]

    def commit(self, step: Step, payload: SpaceChoice) -> SpaceChanged:
        self.change(step, payload.register)
        return SpaceChanged(register=payload.register)


# --- F-WEB Webスペースの登録 ---------------------------------------------------------------------


class WebSpaceChange(_MailboxProcedure[SpaceForm, SpaceChoice, SpaceChanged], _SpaceProcedure):
    """F-WEB: register or release the Web space of an account ID with an ISP mailbox."""

    name = "account_webspace"
    feature = Feature.WEB
    title = gettext_lazy("Webスペースの登録")
    service = gettext_lazy("Webスペース")
    intro_text = gettext_lazy(
        "ホームページを公開するためのWebスペースを登録・解除します。"
        "Webスペースは、このアカウントIDのメールアドレスでご利用いただけます。"
    )
    full_notice = gettext_lazy(
        "ご契約のWebスペース登録可能数をすべてご利用中のため、登録できません。メールサービスの購入が必要です。"
    )
    release_warning = gettext_lazy(
        "解除すると、Webスペースに保存されたファイルはすべて削除され、ホームページは公開されなくなります。"
        "削除されたファイルは元に戻せません。"
    )

    def registered(self, account: AccountId) -> bool:
        return mail.web_space_exists(account)

    def usage(self, step: Step) -> Usage | None:
        return contract_allowance(step.contract).web_space

    def state_rows(self, step: Step, registered: bool) -> list[Row]:
        brand = step.contract.plan.brand
        account_id = step.target.account_id
        if not registered:
            return [row(_("ホームページアドレス"), _("未登録"))]
        return [
            row(_("ホームページアドレス"), homepage_address(brand, account_id)),
            row(_("アップロードサーバー"), brand.web_upload_host),
            row(_("ユーザー名"), account_id),
            row(_("パスワード"), _("アカウントIDのパスワード")),
        ]

    def context(self, step: Step) -> dict[str, Any]:
        return {**_MailboxProcedure.context(self, step), **_SpaceProcedure.context(self, step)}

    def confirm_rows(self, step: Step, payload: SpaceChoice) -> list[Row]:
        rows = _SpaceProcedure.confirm_rows(self, step, payload)
        address = homepage_address(step.contract.plan.brand, step.target.account_id)
        return [*rows[:2], row(_("ホームページアドレス"), address), *rows[2:]]

    def complete_rows(
        self, step: Step, payload: SpaceChoice, result: SpaceChanged, shown: list[Row]
    ) -> list[Row]:
        if not result.register:
            return shown
        brand = step.contract.plan.brand
        return [
            *shown,
            row(_("アップロードサーバー"), brand.web_upload_host),
            row(_("ユーザー名"), step.target.account_id),
            row(_("パスワード"), _("アカウントIDのパスワード")),
        ]

    def change(self, step: Step, register: bool) -> None:
        web_space_change(contract=step.contract, account=step.target, actor=step.actor, register=register)


# --- F-STORAGE オンラインストレージ&フォトアルバム ---------------------------------------------------


class StorageChange(_SpaceProcedure):
    """F-STORAGE: register or release the online storage of one account ID (MULTI plans)."""

    name = "account_storage"
    feature = Feature.STORAGE
    title = gettext_lazy("オンラインストレージ&フォトアルバム")
    service = gettext_lazy("オンラインストレージ&フォトアルバム")
    full_notice = gettext_lazy(
        "ご契約のオンラインストレージ登録可能数をすべてご利用中のため、登録できません。"
        "メールパックの購入が必要です。"
    )
    release_warning = gettext_lazy(
        "解除すると、オンラインストレージとフォトアルバムに保存されたファイル・写真はすべて削除されます。"
        "削除されたファイル・写真は元に戻せません。"
    )

    def registered(self, account: AccountId) -> bool:
        return mail.online_storage_exists(account)

    def usage(self, step: Step) -> Usage | None:
        return contract_allowance(step.contract).storage

    def state_rows(self, step: Step, registered: bool) -> list[Row]:
        return [row(_("ご利用状況"), _("登録済み") if registered else _("未登録"))]

    def context(self, step: Step) -> dict[str, Any]:
        return {
            **super().context(step),
            "intro": _(
                "写真やファイルをインターネット上に保存できるサービスです。アカウントIDごとに登録・解除します。"
            ),
            "fixed_rows": [row(_("アカウントID"), step.target.account_id)] if step.account else [],
        }

    def back_url(self, step: Step) -> str:
        if step.viewer.can(Feature.STORAGE).own_account_only:
            return super().back_url(step)
        return reverse("portal:storage")

    def change(self, step: Step, register: bool) -> None:
        storage_change(contract=step.contract, account=step.target, actor=step.actor, register=register)


WEB_SPACE = WebSpaceChange()
STORAGE = StorageChange()


@never_cache
@portal_view(Feature.STORAGE)
def storage_list(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """オンラインストレージ&フォトアルバム: the contract's live IDs with their storage, the
    allowance, and a 登録 / 解除 link per ID (holder and admin IDs; a user ID has its own page)."""
    contract = viewer.contract
    return page(
        request,
        viewer,
        "portal/storage_list.html",
        {
            "title": STORAGE.title,
            "rows": mail_selectors.account_services(contract),
            "usage": contract_allowance(contract).storage,
            "can_buy_mail": viewer.can(Feature.MAILOPT).verdict is Verdict.ALLOW,
        },
    )
