"""What the account-ID tests type and pass (issue 3): the input of a new ID, the actor, and the
services' typed inputs built from them."""

from __future__ import annotations

from mypage.accounts import rules, services
from mypage.audit.services import Actor
from mypage.contracts.models import Contract

PASSWORD = "green-kettle-orbit-42"
FORM = {
    "account_id": "taro-new",
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "username": "やまだ",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "permission": "user",
}
ACTOR = Actor(kind="holder", name="test", customer_number="", ip="127.0.0.1")
PROFILE = {f: FORM[f] for f in rules.PROFILE_FIELDS}


def new_id(account_id: str, password: services.PreparedPassword) -> services.NewAccountId:
    return services.NewAccountId(account_id, services.AccountNames.of(PROFILE), "user", password)


def change(
    profile: dict[str, str], permission: str | None, password: services.PreparedPassword | None
) -> services.AccountIdChange:
    return services.AccountIdChange(services.AccountNames.of(profile), permission, password)


def prepared(password: str = PASSWORD, contract: Contract | None = None) -> services.PreparedPassword:
    contract = contract or Contract.objects.get(customer_number="90000000000000")
    return services.password_prepare(password, identifiers=["x"], contract=contract)
