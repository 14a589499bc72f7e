"""The left side menu (F-LOGIN-3), grouped as in the manual. Which entries show is decided by
the permission matrix (``decide``, what ``Viewer.can`` asks), the same table the views enforce.

An entry names its label (the manual's menu wording) and its URL name only: the feature that
decides whether it shows is read from the view the URL conf routes that name to (the feature its
``portal_view`` guard carries), so a page's feature is stated once, at the page.

The menu depends on the viewer's role, the contract's plan (what it offers, from the catalogue),
for a user-permission ID its own account ID, whether the contract still has to register its first
account ID (F-ACCT-FIRST: the entries that open only then are greyed), and the page it is on — not
on anything else of the contract. ``menu_for`` therefore keeps each menu per process, under those
and the catalogue's load (``catalogue.version()``), so that a catalogue change reaches it as it
reaches the pages; its labels stay lazy. ``side_menu`` keeps the menu's HTML
(``portal/_side_menu.html``) the same way, per language as well: the layout puts it in every
logged-in page as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.template.loader import get_template
from django.urls import NoReverseMatch, get_script_prefix, resolve, reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from markupsafe import Markup

from mypage.accounts.permissions import Feature, Role, decide
from mypage.accounts.selectors import Viewer
from mypage.core import catalogue
from mypage.mail.selectors import has_isp_mailbox

from .access import OPEN_BEFORE_FIRST_ACCOUNT, needs_first_account


@dataclass(frozen=True)
class Entry:
    label: str | Promise
    url_name: str
    own_account: bool = False  # links to the viewer's own account ID (user-permission screen)
    anchor: str = ""
    needs_mailbox: bool = False  # applies only to an ID with an ISP mailbox (forwarding, Web space)

    @property
    def feature(self) -> Feature:
        return feature_of(self.url_name)


@cache
def feature_of(url_name: str) -> Feature:
    """The feature of the page ``url_name`` names, as its view's guard carries it."""
    try:
        path = reverse(url_name)
    except NoReverseMatch:  # a page of one account ID: any ID's URL routes to the same view
        path = reverse(url_name, kwargs={"account_id": "a00"})
    feature = getattr(resolve(path).func, "feature", None)
    if not isinstance(feature, Feature):
        raise LookupError(f"{url_name} is not a page guarded by portal_view: it cannot be in the menu")
    return feature


@dataclass(frozen=True)
class Group:
    label: str | Promise
    entries: tuple[Entry, ...]


MENU: tuple[Group, ...] = (
    Group(_("ご契約情報"), (
        Entry(_("ご契約情報一覧"), "portal:overview"),
        Entry(_("ユーザー管理"), "portal:user_home"),
    )),
    Group(_("各種お手続き"), (
        Entry(_("お客様情報変更"), "portal:profile"),
        Entry(_("お客様番号パスワード変更"), "portal:customer_password"),
        Entry(_("お支払い方法変更"), "portal:payment"),
        Entry(_("ご契約内容変更申請"), "portal:contract_change"),
        Entry(_("ご利用ガイド・規約ご請求"), "portal:guide_request"),
        Entry(_("ご解約"), "portal:line_cancellation"),
    )),
    Group(_("料金明細照会"), (
        Entry(_("月額請求明細照会"), "portal:billing_monthly"),
        Entry(_("GATE CALL通話明細照会"), "portal:calls_gatecall"),
        Entry(_("GATE CALL050通話明細照会"), "portal:calls_gatecall050"),
        Entry(_("UCOM光電話通話明細照会"), "portal:calls_phone"),
    )),
    Group(_("オプションサービス"), (
        Entry(_("メールサービス"), "portal:mail_service"),
        Entry(_("UCOM光 リモートサポート"), "portal:remote_support"),
        Entry(_("UCOM光 あんしん機器保証"), "portal:warranty"),
        Entry(_("オンラインストレージ&フォトアルバム"), "portal:storage"),
        Entry(_("ギガシネマ with U-NEXT"), "portal:unext"),
        Entry(_("UCOM光 クラブオフ"), "portal:cluboff"),
        Entry(_("UCOM光電話"), "portal:phone_service"),
        Entry(_("GATE CALL"), "portal:gatecall_service"),
    )),
    Group(_("アカウントIDオプション"), (
        Entry(_("アカウントID管理"), "portal:account_list"),
        Entry(_("アカウントIDオプション変更"), "portal:overview", anchor="account-ids"),
        Entry(_("パスワード変更"), "portal:account_password", own_account=True),
        Entry(_("メールアドレス登録/変更"), "portal:account_mail", own_account=True),
        Entry(_("メール転送設定"), "portal:account_forwarding", own_account=True, needs_mailbox=True),
        Entry(_("メール自動返信設定"), "portal:account_autoreply", own_account=True, needs_mailbox=True),
        Entry(_("セキュリティオプション"), "portal:account_security", own_account=True),
        Entry(_("Webスペース"), "portal:account_webspace", own_account=True, needs_mailbox=True),
        Entry(_("オンラインストレージ&フォトアルバム"), "portal:account_storage", own_account=True),
    )),
    Group(_("障害情報"), (
        Entry(_("メンテナンス情報"), "portal:notices"),
        Entry(_("マニュアル・利用規約"), "portal:manuals"),
    )),
    Group(_("お問い合わせ窓口"), (
        Entry(_("一般的なお問い合わせ"), "portal:contact"),
    )),
)  # fmt: skip


@dataclass(frozen=True)
class Link:
    label: str | Promise
    url: str
    active: bool
    locked: bool = False  # opens once the contract has an account ID (F-ACCT-FIRST): shown greyed


Menu = tuple[tuple[str | Promise, tuple[Link, ...]], ...]

MENU_CACHE_SIZE = 4096  # menus kept per process (a user-permission ID's menu names its own ID)


@lru_cache(maxsize=MENU_CACHE_SIZE)
def _menu(
    prefix: str,
    version: int,
    role: Role,
    plan_pk: int,
    account_id: str | None,
    mailbox: bool,
    first_account: bool,
    active: str,
) -> Menu:
    """The menu for a role, a plan and (user-permission IDs) an account ID, with the entry whose
    URL is ``active`` marked (``""``: none). ``first_account``: the contract must register its
    first account ID before anything else opens (F-ACCT-FIRST), so the other entries are locked.
    ``mailbox``: the user-permission ID has an ISP mailbox; without one, the entries that apply
    only to a mailbox are left out. ``prefix`` and ``version`` are only part of the key."""
    plan = catalogue.plan(plan_pk)
    groups = []
    for group in MENU:
        links = []
        for entry in group.entries:
            decision = decide(entry.feature, role, plan)
            if not decision.visible:
                continue
            if decision.own_account_only and not entry.own_account:
                # A user ID sees account-scoped functions only as its own ID's pages: the
                # contract-wide page would refuse it (portal.access), so it is not offered.
                continue
            if entry.needs_mailbox and not mailbox:
                continue
            if entry.own_account:
                # Holders and admin IDs reach every ID's pages from the overview; the menu shows
                # these only on the user-permission screen, for the ID's own pages.
                if not decision.own_account_only or account_id is None:
                    continue
                url = reverse(entry.url_name, kwargs={"account_id": account_id})
            else:
                url = reverse(entry.url_name)
            links.append(
                Link(
                    label=entry.label,
                    url=f"{url}#{entry.anchor}" if entry.anchor else url,
                    active=not entry.anchor and url == active,
                    locked=first_account and entry.feature not in OPEN_BEFORE_FIRST_ACCOUNT,
                )
            )
        if links:
            groups.append((group.label, tuple(links)))
    return tuple(groups)


@lru_cache(maxsize=MENU_CACHE_SIZE)
def _plain_urls(
    prefix: str,
    version: int,
    role: Role,
    plan_pk: int,
    account_id: str | None,
    mailbox: bool,
    first_account: bool,
) -> frozenset[str]:
    """The URLs of the menu's entries that can be the current page (those without an anchor)."""
    menu = _menu(prefix, version, role, plan_pk, account_id, mailbox, first_account, "")
    return frozenset(link.url for _label, links in menu for link in links)


MenuKey = tuple[str, int, Role, int, str | None, bool, bool, str]
_FIRST_ACCOUNT = 6  # the index of ``first_account`` in a MenuKey


def _key(viewer: Viewer, current_path: str) -> MenuKey:
    # Only a user-permission ID's menu names its account ID (decide() gives own_account_only to
    # that role alone); for the others it is not part of the key.
    own = viewer.account if viewer.role is Role.USER else None
    key = (
        get_script_prefix(),
        catalogue.version(),
        viewer.role,
        viewer.contract.plan.pk,
        own.account_id if own else None,
        # One small query, on a user-permission ID's pages only (the others' menus do not list
        # their IDs' pages, so whether a mailbox exists changes nothing for them).
        has_isp_mailbox(own.pk) if own else False,
        needs_first_account(viewer),
    )
    active = current_path if current_path in _plain_urls(*key) else ""
    return (*key, active)


def menu_for(viewer: Viewer, current_path: str) -> Menu:
    return _menu(*_key(viewer, current_path))


SIDE_MENU_CACHE_SIZE = 1024  # menus' HTML kept per process (about 2.5 KB each)


@lru_cache(maxsize=SIDE_MENU_CACHE_SIZE)
def _side_menu(language: str | None, key: MenuKey) -> Markup:
    with translation.override(language):
        context = {"menu": _menu(*key), "first_account": key[_FIRST_ACCOUNT]}
        return Markup(get_template("portal/_side_menu.html").render(context))  # noqa: S704


def side_menu(viewer: Viewer, current_path: str) -> Markup:
    """The side menu's HTML for this viewer and page, in the active language."""
    return _side_menu(translation.get_language(), _key(viewer, current_path))


def _clear(*, setting: str, **_kwargs: Any) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME", "TEMPLATES", "LANGUAGES"}:
        _menu.cache_clear()
        _plain_urls.cache_clear()
        _side_menu.cache_clear()
        feature_of.cache_clear()


setting_changed.connect(_clear, dispatch_uid="portal-menu-cache")
