"""Account IDs: create, change, change the password, delete (retire) — SPEC §4, manual §8–§10.

Every rule is enforced here, whatever the caller: the ID format, uniqueness forever (retired IDs
included), the plan's limit under concurrent requests, what a user ID may change of itself, the
password policy (a ``PreparedPassword`` only comes out of the policy check), and the audit entry.
Errors are ``AccountError`` with a message per form field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mypage.audit.services import Actor, audit_change
from mypage.contracts.models import Contract
from mypage.contracts.services import contact_address, notice_time
from mypage.core import clock
from mypage.notifications.services import mail_enqueue
from mypage.principals.models import PasswordHistory, Principal, PrincipalKind, login_key
from mypage.principals.passwords import password_avoid_list, password_mask, password_validate
from mypage.principals.sessions import principal_sessions_end

from .models import AccountId, Permission
from .permissions import Role

ID_MIN, ID_MAX = 3, 20
# A letter first; letters, digits and - _ . after it; never two symbols in a row; no symbol last.
ACCOUNT_ID_RE = re.compile(r"[a-z](?:[a-z0-9]|[-_.](?=[a-z0-9]))*")
NAME_MAX = 40
NAME_EXTRA = set(" \u3000・-.")  # besides letters, marks and digits: spaces, 中黒, hyphen, dot
KANA_RE = re.compile(r"[\u30a1-\u30f6\u30fc\u30fb\u3000 ]+")  # full-width katakana, ー, ・, spaces
HALF_WIDTH_KANA_RE = re.compile(r"[\uff61-\uff9f]")

NAME_FIELDS = ("family_name", "given_name", "username")
KANA_FIELDS = ("family_name_kana", "given_name_kana")
PROFILE_FIELDS = (*NAME_FIELDS, *KANA_FIELDS)


class AccountError(Exception):
    """Input refused: ``errors`` maps a form field (or ``__all__``) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class PreparedPassword:
    """A password that passed the policy, hashed (Argon2id), and its confirm-screen mask. The
    three-step flow keeps this between the steps, never the password itself."""

    hash: str
    mask: str

    def as_dict(self) -> dict[str, str]:
        return {"hash": self.hash, "mask": self.mask}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> PreparedPassword:
        return cls(hash=data["hash"], mask=data["mask"])


def password_prepare(
    password: str, *, identifiers: list[str], contract: Contract, principal: Principal | None = None
) -> PreparedPassword:
    """Check ``password`` against SPEC §4 (raises ``django.core.exceptions.ValidationError``) and
    hash it. ``identifiers``: the account ID and customer number it must not contain."""
    avoid = password_avoid_list(identifiers=identifiers, brand=contract.plan.brand)
    password_validate(password, avoid=avoid, principal=principal)
    return PreparedPassword(hash=make_password(password), mask=password_mask(password))


# --- field rules ------------------------------------------------------------------------------


def account_id_problems(value: str) -> list[str]:
    if not value:
        return [_("アカウントIDを入力してください。")]
    if not ID_MIN <= len(value) <= ID_MAX or not ACCOUNT_ID_RE.fullmatch(value):
        return [
            _(
                "アカウントIDは3〜20文字の半角英小文字・数字・記号(-_.)で、英字で始め、記号で終わらず、"
                "記号を続けずに入力してください。"
            )
        ]
    return []


def _name_problems(value: str, *, label: str) -> list[str]:
    if not value.strip():
        return [_("%(label)sを入力してください。") % {"label": label}]
    if len(value) > NAME_MAX:
        return [_("%(label)sは%(max)d文字以内で入力してください。") % {"label": label, "max": NAME_MAX}]
    for ch in value:
        if ch in NAME_EXTRA:
            continue
        if unicodedata.category(ch)[0] not in "LMN" or HALF_WIDTH_KANA_RE.match(ch):
            return [_("%(label)sに使用できない文字が含まれています。") % {"label": label}]
    return []


def _kana_problems(value: str, *, label: str) -> list[str]:
    if not value.strip():
        return [_("%(label)sを入力してください。") % {"label": label}]
    if len(value) > NAME_MAX:
        return [_("%(label)sは%(max)d文字以内で入力してください。") % {"label": label, "max": NAME_MAX}]
    if not KANA_RE.fullmatch(value):
        return [_("%(label)sは全角カタカナで入力してください。") % {"label": label}]
    return []


def _labels() -> dict[str, str]:
    return {
        "family_name": _("氏名 (姓)"),
        "given_name": _("氏名 (名)"),
        "family_name_kana": _("氏名カナ (姓カナ)"),
        "given_name_kana": _("氏名カナ (名カナ)"),
        "username": _("ユーザーネーム"),
    }


def profile_problems(values: dict[str, str]) -> dict[str, list[str]]:
    """Messages per field for 氏名, 氏名カナ and ユーザーネーム (only the fields given)."""
    labels = _labels()
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name in NAME_FIELDS:
            problems = _name_problems(value, label=labels[name])
        elif name in KANA_FIELDS:
            problems = _kana_problems(value, label=labels[name])
        else:
            continue
        if problems:
            errors[name] = problems
    return errors


def permission_problems(value: str) -> list[str]:
    return [] if value in Permission.values else [_("アカウント権限種別を選択してください。")]


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise AccountError(errors)


# --- create -----------------------------------------------------------------------------------

ID_TAKEN = gettext_noop(
    "このアカウントIDは使用できません。既に登録されているか、過去に登録されていたIDです。"
)


def account_id_available(account_id: str) -> bool:
    """Free forever-unique name: no live or retired ID, of any contract or brand, has it."""
    return not AccountId.objects.filter(account_id=account_id).exists()


def account_limit_reached(contract: Contract) -> bool:
    return AccountId.live.filter(contract=contract).count() >= contract.plan.account_id_limit


def account_create(
    *,
    contract: Contract,
    actor: Actor,
    account_id: str,
    profile: dict[str, str],
    permission: str,
    password: PreparedPassword,
) -> AccountId:
    """A new account ID of ``contract`` with its login (F-ACCT-NEW).

    The contract row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL), so concurrent
    creations for one contract count the live IDs one after another and the plan's limit holds.
    """
    errors = profile_problems({f: profile.get(f, "") for f in PROFILE_FIELDS})
    if problems := account_id_problems(account_id):
        errors["account_id"] = problems
    if problems := permission_problems(permission):
        errors["permission"] = problems
    _raise_if(errors)
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        if AccountId.live.filter(contract=locked).count() >= contract.plan.account_id_limit:
            raise AccountError(
                {
                    "__all__": [
                        _("アカウントIDの登録可能数(%(n)d個)に達しています。")
                        % {"n": contract.plan.account_id_limit}
                    ]
                }
            )
        if not account_id_available(account_id):
            raise AccountError({"account_id": [_(ID_TAKEN)]})
        try:
            with transaction.atomic():  # a savepoint: a lost race on the name is a field error
                principal = Principal.objects.create(
                    login_key=login_key(PrincipalKind.ACCOUNT, account_id),
                    kind=PrincipalKind.ACCOUNT,
                    password=password.hash,
                )
                account = AccountId.objects.create(
                    account_id=account_id,
                    contract=locked,
                    principal=principal,
                    permission=permission,
                    issued_on=clock.today(),
                    **{f: profile[f] for f in PROFILE_FIELDS},
                )
        except IntegrityError:
            raise AccountError({"account_id": [_(ID_TAKEN)]}) from None
        PasswordHistory.objects.create(principal=principal, password_hash=password.hash)
        audit_change(actor, "account_create", target=account_id, details={"permission": permission})
    return account


# --- change -----------------------------------------------------------------------------------


def account_update(
    *,
    account: AccountId,
    actor: Actor,
    actor_role: Role,
    profile: dict[str, str],
    permission: str | None,
    password: PreparedPassword | None,
) -> list[str]:
    """Change an ID's names, permission and (if given) password (F-ACCT-EDIT). A user ID changes
    only its own names and password: a permission it sends is ignored. Returns the changed fields."""
    errors = profile_problems({f: profile.get(f, "") for f in PROFILE_FIELDS})
    if actor_role is Role.USER:
        permission = None
    if permission is not None and (problems := permission_problems(permission)):
        errors["permission"] = problems
    _raise_if(errors)
    with transaction.atomic():
        locked = AccountId.live.select_for_update().get(pk=account.pk)
        changed = [f for f in PROFILE_FIELDS if getattr(locked, f) != profile[f]]
        for f in changed:
            setattr(locked, f, profile[f])
        if permission is not None and permission != locked.permission:
            locked.permission = permission
            changed.append("permission")
        if changed:
            locked.save(update_fields=changed)
        if password is not None:
            _password_store(locked.principal, password, actor)
            changed.append("password")
        audit_change(
            actor,
            "account_update",
            target=locked.account_id,
            details={
                "fields": changed,
                **({"permission": locked.permission} if "permission" in changed else {}),
            },
        )
    account.refresh_from_db()
    return changed


def account_password_change(*, account: AccountId, actor: Actor, password: PreparedPassword) -> str:
    """アカウントIDパスワード変更: the new password, and the ID's other sessions end. A notice
    naming the ID (never the password) goes to the contract's 連絡用メールアドレス (Beyond, SPEC §9),
    in the same transaction; returns that address, or "" when there is none."""
    with transaction.atomic():
        locked = AccountId.live.select_for_update().get(pk=account.pk)
        _password_store(locked.principal, password, actor)
        audit_change(actor, "account_password_change", target=locked.account_id)
        return _password_notice(
            "account_password_changed",
            locked.contract,
            account_id=locked.account_id,
            operator=lambda: _operator(actor, locked.account_id),
        )


def _password_store(principal: Principal, password: PreparedPassword, actor: Actor) -> None:
    principal.password = password.hash
    principal.save(update_fields=["password"])
    PasswordHistory.objects.create(principal=principal, password_hash=password.hash)
    keep = actor.session_key if actor.principal_id == principal.pk else None
    principal_sessions_end(principal, keep=keep)


def customer_password_change(*, contract: Contract, actor: Actor, password: PreparedPassword) -> str:
    """お客様番号パスワード変更 (F-PW): the holder's other sessions end; this one stays. A notice
    goes to the 連絡用メールアドレス (Beyond, SPEC §9) in the same transaction; returns that
    address, or "" when there is none."""
    with transaction.atomic():
        principal = Principal.objects.select_for_update().get(pk=contract.principal_id)
        _password_store(principal, password, actor)
        audit_change(actor, "customer_password_change", target=contract.customer_number)
        return _password_notice("customer_password_changed", contract)


def _operator(actor: Actor, account_id: str) -> str:
    """Who changed an account ID's password, as the notice tells the holder."""
    if actor.kind == Role.HOLDER:
        return _("お客様番号でのログイン")
    if actor.name == account_id:
        return _("アカウントID「%(id)s」(ご本人)でのログイン") % {"id": account_id}
    if actor.kind == Role.ADMIN:
        return _("管理者権限のアカウントID「%(id)s」でのログイン") % {"id": actor.name}
    return _("サポート窓口での操作")


def _password_notice(
    kind: str, contract: Contract, *, operator: Callable[[], str] | None = None, **context: str
) -> str:
    """Queue a password-change notice to the contract's 連絡用メールアドレス, if it has one. It
    never holds the password: the templates get the holder's name, the time and ``context``."""
    address = contact_address(contract)
    if address:
        with translation.override("ja"):  # the mail is Japanese whatever the page's language
            mail_enqueue(
                kind=kind,
                to=address,
                brand=contract.brand,
                contract=contract,
                context={
                    "holder_name": contract.holder_name,
                    "changed_at": notice_time(),
                    **({"operator": operator()} if operator else {}),
                    **context,
                },
            )
    return address


# --- delete (retire) --------------------------------------------------------------------------

#: Called inside the retirement's transaction with (account, actor): later features cancel the
#: ID's options and mail here (SPEC §4 F-ACCT-DELETE). Register in an AppConfig.ready().
RETIRE_HOOKS: list[Callable[[AccountId, Actor], Any]] = []


def register_retire_hook(hook: Callable[[AccountId, Actor], Any]) -> None:
    if hook not in RETIRE_HOOKS:
        RETIRE_HOOKS.append(hook)


def account_retire(*, account: AccountId, actor: Actor) -> None:
    """Delete an account ID (F-ACCT-DELETE): it is retired, never removed, so its name stays taken
    forever; its login is disabled, its sessions end, and every retire hook runs — all in one
    transaction. The ID a principal is logged in as cannot be deleted from its own session."""
    if actor.principal_id is not None and actor.principal_id == account.principal_id:
        raise AccountError({"__all__": [_("ログイン中のアカウントIDは削除できません。")]})
    with transaction.atomic():
        locked = AccountId.live.select_for_update().get(pk=account.pk)
        locked.retired_at = clock.now()
        locked.save(update_fields=["retired_at"])
        principal = locked.principal
        principal.is_active = False
        principal.save(update_fields=["is_active"])
        principal_sessions_end(principal)
        for hook in RETIRE_HOOKS:
            hook(locked, actor)
        audit_change(actor, "account_retire", target=locked.account_id)
