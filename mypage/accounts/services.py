"""Account IDs: create, change, change the password, retire — SPEC §4, manual §8–§10.

Every rule is enforced here, whatever the caller: the ID format, uniqueness forever (retired IDs
included), the plan's limit under concurrent requests, what a user ID may change of itself, the
password policy (a ``PreparedPassword`` only comes out of the policy check), and the audit entry.
The field rules themselves are ``accounts.rules``; a refusal is ``core.errors.Refused`` with
messages per form field. Deleting an ID with everything it holds is ``lifecycle.account_delete``,
which calls ``account_retire`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from mypage.audit.models import ActorKind, AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.contracts.models import Contract
from mypage.contracts.services import password_notice
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.principals.models import PasswordHistory, Principal, PrincipalKind, login_key
from mypage.principals.passwords import password_avoid_list, password_mask, password_validate
from mypage.principals.sessions import principal_sessions_end

from . import rules
from .models import AccountId


@dataclass(frozen=True)
class PreparedPassword:
    """A password that passed the policy, hashed (Argon2id), and its confirm-screen mask. The
    three-step flow keeps this between the steps, never the password itself."""

    hash: str
    mask: str


@dataclass(frozen=True)
class AccountNames:
    """氏名, 氏名カナ and ユーザーネーム of an account ID (checked by ``rules.profile_problems``)."""

    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    username: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> AccountNames:
        return cls(**{f: data[f] for f in rules.PROFILE_FIELDS})

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in rules.PROFILE_FIELDS}


@dataclass(frozen=True)
class NewAccountId:
    """What ``account_create`` needs (and the confirm screen of アカウントID登録 shows)."""

    account_id: str
    names: AccountNames
    permission: str
    password: PreparedPassword


@dataclass(frozen=True)
class AccountIdChange:
    """What ``account_update`` changes: the names, the permission (None: not offered, a user ID
    changing itself) and the password (None: kept)."""

    names: AccountNames
    permission: str | None
    password: PreparedPassword | None


def password_avoid(*, identifiers: list[str], contract: Contract) -> list[str]:
    """What a password for ``contract`` must not contain: ``identifiers`` (the account ID, the
    customer number) and the brand's names (SPEC §4). A form checks it in the same round as the
    other fields; ``password_prepare`` checks it again, with the principal's history."""
    return password_avoid_list(identifiers=identifiers, brand=contract.plan.brand)


def password_prepare(
    password: str,
    *,
    identifiers: list[str],
    contract: Contract,
    principal: Principal | None = None,
    field: str = "password",
) -> PreparedPassword:
    """Check ``password`` against SPEC §4 and hash it; ``Refused`` (on ``field``) if the policy says
    no. ``identifiers``: the account ID and customer number it must not contain."""
    avoid = password_avoid(identifiers=identifiers, contract=contract)
    try:
        password_validate(password, avoid=avoid, principal=principal)
    except ValidationError as refused:
        raise Refused.field(field, *refused.messages) from None
    return PreparedPassword(hash=make_password(password), mask=password_mask(password))


def _refuse_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise Refused(errors)


# --- create -----------------------------------------------------------------------------------


def account_id_available(account_id: str) -> bool:
    """Free forever-unique name: no live or retired ID, of any contract or brand, has it."""
    return not AccountId.objects.filter(account_id=account_id).exists()


def account_limit_reached(contract: Contract) -> bool:
    return AccountId.live.filter(contract=contract).count() >= contract.plan.account_id_limit


def account_create_problems(*, contract: Contract, account_id: str) -> dict[str, list[str]]:
    """What refuses a new ID now, before its confirm screen: the plan's limit, a taken name."""
    if account_limit_reached(contract):
        return {"__all__": [rules.limit_message(contract.plan.account_id_limit)]}
    if not account_id_available(account_id):
        return {"account_id": [_(rules.ID_TAKEN)]}
    return {}


def account_create(*, contract: Contract, actor: Actor, data: NewAccountId) -> AccountId:
    """A new account ID of ``contract`` with its login (F-ACCT-NEW).

    The contract row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL), so concurrent
    creations for one contract count the live IDs one after another and the plan's limit holds.
    """
    errors = rules.profile_problems(data.names.as_dict())
    if problems := rules.account_id_problems(data.account_id):
        errors["account_id"] = problems
    if problems := rules.permission_problems(data.permission):
        errors["permission"] = problems
    _refuse_if(errors)
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        _refuse_if(account_create_problems(contract=locked, account_id=data.account_id))
        try:
            with transaction.atomic():  # a savepoint: a lost race on the name is a field error
                principal = Principal.objects.create(
                    login_key=login_key(PrincipalKind.ACCOUNT, data.account_id),
                    kind=PrincipalKind.ACCOUNT,
                    password=data.password.hash,
                )
                account = AccountId.objects.create(
                    account_id=data.account_id,
                    contract=locked,
                    principal=principal,
                    permission=data.permission,
                    issued_on=clock.today(),
                    **data.names.as_dict(),
                )
        except IntegrityError:
            raise Refused.field("account_id", _(rules.ID_TAKEN)) from None
        PasswordHistory.objects.create(principal=principal, password_hash=data.password.hash)
        audit_change(
            actor, AuditAction.ACCOUNT_CREATE, target=data.account_id, details={"permission": data.permission}
        )
    return account


# --- change -----------------------------------------------------------------------------------


def account_update(*, account: AccountId, actor: Actor, data: AccountIdChange) -> list[str]:
    """Change an ID's names, permission and (if given) password (F-ACCT-EDIT). A user ID changes
    only its own names and password: a permission it sends is ignored. Returns the changed fields."""
    profile = data.names.as_dict()
    errors = rules.profile_problems(profile)
    permission = None if actor.kind is ActorKind.USER else data.permission
    if permission is not None and (problems := rules.permission_problems(permission)):
        errors["permission"] = problems
    _refuse_if(errors)
    with transaction.atomic():
        locked = AccountId.live.select_for_update().get(pk=account.pk)
        changed = [f for f in rules.PROFILE_FIELDS if getattr(locked, f) != profile[f]]
        for f in changed:
            setattr(locked, f, profile[f])
        if permission is not None and permission != locked.permission:
            locked.permission = permission
            changed.append("permission")
        if changed:
            locked.save(update_fields=changed)
        if data.password is not None:
            _password_store(locked.principal, data.password, actor)
            changed.append("password")
        audit_change(
            actor,
            AuditAction.ACCOUNT_UPDATE,
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
        audit_change(actor, AuditAction.ACCOUNT_PASSWORD_CHANGE, target=locked.account_id)
        return password_notice(
            "account_password_changed",
            locked.contract,
            account_id=locked.account_id,
            operator=_operator(actor, locked.account_id),
            operator_id=actor.name,
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
        audit_change(actor, AuditAction.CUSTOMER_PASSWORD_CHANGE, target=contract.customer_number)
        return password_notice("customer_password_changed", contract)


def _operator(actor: Actor, account_id: str) -> str:
    """Who changed an account ID's password, for the notice to word: the holder, the ID itself,
    an admin ID, or anyone else (the support desk)."""
    if actor.kind is ActorKind.HOLDER:
        return "holder"
    if actor.name == account_id:
        return "self"
    return "admin" if actor.kind is ActorKind.ADMIN else "support"


# --- retire -----------------------------------------------------------------------------------


def account_retire(*, account: AccountId, actor: Actor) -> AccountId:
    """Retire an account ID (its part of F-ACCT-DELETE): it is never removed, so its name stays
    taken forever; its login is disabled and its sessions end. Returns the ID, locked, for the
    caller's transaction: ``lifecycle.account_delete`` ends what the ID holds in the same one. The
    ID a principal is logged in as cannot be deleted from its own session."""
    if actor.principal_id is not None and actor.principal_id == account.principal_id:
        raise Refused.page(_("ログイン中のアカウントIDは削除できません。"))
    with transaction.atomic():
        locked = AccountId.live.select_for_update().get(pk=account.pk)
        locked.retired_at = clock.now()
        locked.save(update_fields=["retired_at"])
        principal = locked.principal
        principal.is_active = False
        principal.save(update_fields=["is_active"])
        principal_sessions_end(principal)
        audit_change(actor, AuditAction.ACCOUNT_RETIRE, target=locked.account_id)
    return locked
