"""The demo data of SPEC §13 (documented in README.md), loaded idempotently."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from mypage.accounts.models import Permission
from mypage.contracts.models import Contract, Gender, Occupation
from mypage.mail.models import MailKind
from mypage.testing.factories import make_account, make_contract, make_mail_address


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    password: str
    permission: Permission
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    isp_mail: bool = False


@dataclass(frozen=True)
class DemoContract:
    customer_number: str
    password: str
    plan_code: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: dt.date
    gender: Gender
    postal_code: str
    address: str
    phone: str
    accounts: tuple[DemoAccount, ...] = field(default=())


DEMO_CONTRACTS = (
    DemoContract(
        "99999999999999", "demo-pass-9999", "spaaqs_lan", "有光", "太郎", "アルテリ", "タロウ",
        dt.date(1979, 3, 3), Gender.MALE, "150-0001", "東京都渋谷区神宮前1-2-3 スパークスマンション101", "03-1234-5678",
        (DemoAccount("arteri-an-001", "demo-acct-001", Permission.USER, "有光", "一", "アルテリ", "イチ"),),
    ),
    DemoContract(
        "90000000000000", "demo-pass-9000", "spaaqs_multi", "有光", "杏", "アルテリ", "アン",
        dt.date(1985, 6, 12), Gender.FEMALE, "150-0002", "東京都渋谷区渋谷2-3-4 スパークスレジデンス502", "012-345-6789",
        (
            DemoAccount("arteri-an-002", "demo-acct-002", Permission.ADMIN, "有光", "杏", "アルテリ", "アン",
                        isp_mail=True),
            DemoAccount("arteri-an-003", "demo-acct-003", Permission.USER, "有光", "三", "アルテリ", "サン"),
        ),
    ),
    DemoContract(
        "80000000000000", "demo-pass-8000", "ucom_mv", "宇込", "花子", "ウコム", "ハナコ",
        dt.date(1990, 11, 5), Gender.FEMALE, "105-0011", "東京都港区芝公園3-4-5 ユーコムレジデンス803", "03-9876-5432",
    ),
)  # fmt: skip


@transaction.atomic
def demo_seed() -> list[str]:
    """Create the demo contracts that do not exist yet; return the customer numbers created."""
    created = []
    for demo in DEMO_CONTRACTS:
        if Contract.objects.filter(customer_number=demo.customer_number).exists():
            continue
        contract = make_contract(
            demo.customer_number,
            demo.plan_code,
            password=demo.password,
            family_name=demo.family_name,
            given_name=demo.given_name,
            family_name_kana=demo.family_name_kana,
            given_name_kana=demo.given_name_kana,
            birth_date=demo.birth_date,
            gender=demo.gender,
            postal_code=demo.postal_code,
            install_address=demo.address,
            occupation=Occupation.EMPLOYEE,
            phone=demo.phone,
        )
        for acct in demo.accounts:
            account = make_account(
                contract,
                acct.account_id,
                permission=acct.permission,
                password=acct.password,
                family_name=acct.family_name,
                given_name=acct.given_name,
                family_name_kana=acct.family_name_kana,
                given_name_kana=acct.given_name_kana,
            )
            if acct.isp_mail:
                make_mail_address(account, MailKind.ISP)
        created.append(demo.customer_number)
    return created
