"""The permission matrix of SPEC §2 (manual 「2 機能一覧」), as one table.

The side menu and every portal view consult ``decide``; nothing else decides who may open what.
A cell says what a role may do with a function:

    ◎ ALL      for every account ID of the contract
    ○ OWN      holder/admin: allowed; user ID: for its own account ID only (or may buy)
    ※ STEP_UP  opens only after お客様番号 + お客様番号パスワード are given again
    × NONE     not allowed

A row may also depend on what the contract's plan offers (e.g. あんしん機器保証 is sold only to
Spaaqs contracts, オンラインストレージ only to MULTI plans): that is read from catalogue and plan
data, never from an ``if brand ==``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mypage.core.catalogue import catalogue
from mypage.core.models import Plan


class Role(StrEnum):
    HOLDER = "holder"  # お客様番号でログイン
    ADMIN = "admin"  # 管理者権限 ID でログイン
    USER = "user"  # ユーザー権限 ID でログイン


class Access(StrEnum):
    ALL = "◎"
    OWN = "○"
    STEP_UP = "※"
    NONE = "×"


class Feature(StrEnum):
    """Functions of the portal, named by their SPEC feature IDs."""

    OVERVIEW = "F-OVERVIEW"  # ご契約情報一覧 (+ F-ACCT-OPTIONS accordion)
    USER_HOME = "F-ACCT-USER"  # ユーザー管理
    PROFILE = "F-PROFILE"  # 契約情報の変更
    CUSTOMER_PASSWORD = "F-PW"  # お客様番号パスワード変更
    PAY = "F-PAY"  # お支払い登録情報の確認/変更
    CONTRACT_REQUEST = "F-REQUEST"  # ご契約内容変更申請, ご利用ガイド・規約ご請求
    LINE_INFO = "F-INFO"  # ご解約, UCOM光電話, GATE CALL: information pages (not online)
    BILL_VIEW = "F-BILL-VIEW"  # 料金明細照会 (月額請求明細, 通話明細)
    ACCT = "F-ACCT"  # アカウントIDの登録/削除
    ACCT_EDIT = "F-ACCT-EDIT"  # アカウントID登録情報の変更 (氏名, ユーザーネーム, 権限, パスワード)
    ACCT_PASSWORD = "F-ACCT-PW"  # アカウントIDパスワードの変更
    MAILOPT = "F-MAILOPT"  # メールオプションの購入
    MAIL = "F-MAIL"  # メールアドレスの登録・変更
    FWD = "F-FWD"  # メール転送設定
    AUTOREPLY = "F-AUTOREPLY"  # メール自動返信設定
    SEC = "F-SEC"  # セキュリティオプションの購入/解約, 情報確認
    WEB = "F-WEB"  # Webスペースの登録
    STORAGE = "F-STORAGE"  # オンラインストレージ&フォトアルバム
    RS = "F-RS"  # UCOM光 リモートサポートの申込/解約
    WAR = "F-WAR"  # UCOM光 あんしん機器保証の申込/解約
    EXT = "F-EXT"  # ギガシネマ with U-NEXT, UCOM光 クラブオフ
    NOTICES = "F-NOTICES"  # 障害情報 / メンテナンス情報
    SUPPORT = "F-SUPPORT"  # マニュアル・利用規約, お問い合わせ窓口


def _offers_product(code: str) -> Callable[[Plan], bool]:
    def offered(plan: Plan) -> bool:
        item = catalogue().get(code)
        return item is not None and item.offered_to(plan)

    offered.__name__ = f"offers_{code}"
    return offered


def _offers_storage(plan: Plan) -> bool:
    return plan.offers_storage


@dataclass(frozen=True)
class Rule:
    holder: Access
    admin: Access
    user: Access
    offered: Callable[[Plan], bool] | None = None  # None: every plan has it
    account_scoped: bool = False  # the function acts on one account ID (URL names it)

    def access(self, role: Role) -> Access:
        return {Role.HOLDER: self.holder, Role.ADMIN: self.admin, Role.USER: self.user}[role]


ALL, OWN, STEP, NO = Access.ALL, Access.OWN, Access.STEP_UP, Access.NONE

#: SPEC §2. Rows not in the manual's table (marked *) follow the row they belong with.
MATRIX: dict[Feature, Rule] = {
    Feature.OVERVIEW: Rule(OWN, OWN, NO),  # * the admin screen's home; a user ID has USER_HOME
    Feature.USER_HOME: Rule(NO, NO, OWN),  # * ユーザー管理 is the user-permission screen
    Feature.PROFILE: Rule(OWN, OWN, NO),
    Feature.CUSTOMER_PASSWORD: Rule(OWN, OWN, NO),  # * with 契約情報の変更
    Feature.PAY: Rule(OWN, OWN, NO),
    Feature.CONTRACT_REQUEST: Rule(OWN, OWN, NO),  # * with 契約情報の変更
    Feature.LINE_INFO: Rule(OWN, OWN, NO),  # * with 契約情報の変更 (paper / phone only)
    Feature.BILL_VIEW: Rule(OWN, STEP, NO),
    Feature.ACCT: Rule(OWN, OWN, NO),
    # * a user ID changes its own names and password (F-ACCT-USER), the others every ID's
    Feature.ACCT_EDIT: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.ACCT_PASSWORD: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.MAILOPT: Rule(OWN, OWN, NO),
    Feature.MAIL: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.FWD: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.AUTOREPLY: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.SEC: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.WEB: Rule(ALL, ALL, OWN, account_scoped=True),
    Feature.STORAGE: Rule(ALL, ALL, OWN, offered=_offers_storage, account_scoped=True),  # * like Web space
    Feature.RS: Rule(OWN, OWN, NO, offered=_offers_product("remote_support")),
    Feature.WAR: Rule(OWN, OWN, OWN, offered=_offers_product("warranty_basic")),
    Feature.EXT: Rule(OWN, STEP, NO),
    Feature.NOTICES: Rule(ALL, ALL, OWN),  # * everyone
    Feature.SUPPORT: Rule(ALL, ALL, OWN),  # * everyone
}


class Verdict(StrEnum):
    ALLOW = "allow"
    STEP_UP = "step_up"  # ask お客様番号 + パスワード again, then allow
    DENY = "deny"  # the role may not use it (403)
    NOT_OFFERED = "not_offered"  # the contract's plan has no such thing (404)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    own_account_only: bool = False  # a user ID acting on an account-scoped function

    @property
    def visible(self) -> bool:
        """Shown in the menu: usable now, or after the step-up."""
        return self.verdict in (Verdict.ALLOW, Verdict.STEP_UP)


def decide(feature: Feature, role: Role, plan: Plan) -> Decision:
    rule = MATRIX[feature]
    if rule.offered is not None and not rule.offered(plan):
        return Decision(Verdict.NOT_OFFERED)
    access = rule.access(role)
    if access is Access.NONE:
        return Decision(Verdict.DENY)
    if access is Access.STEP_UP:
        return Decision(Verdict.STEP_UP)
    own_only = role is Role.USER and access is Access.OWN and rule.account_scoped
    return Decision(Verdict.ALLOW, own_account_only=own_only)
