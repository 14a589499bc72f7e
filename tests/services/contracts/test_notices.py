"""The notices a contract's changes mail (contracts/services.py: 手続き完了メール, password notices):
Japanese whatever the page's language, and never left behind by a change that rolled back."""

from __future__ import annotations

import re

import pytest

from mypage.accounts import services as account_services
from mypage.audit.models import AuditEntry
from mypage.contracts import services
from mypage.notifications.models import OutboxMail
from tests.support.accounts import PASSWORD
from tests.support.profile import ACTOR, CUSTOMER, FORM, contract, set_contract

pytestmark = pytest.mark.django_db


def test_the_notice_is_japanese_whatever_the_pages_language(demo):
    from django.utils import translation

    set_contract(contact_email="anzu@example.jp")
    with translation.override("en"):
        services.contract_profile_update(
            contract=contract(), actor=ACTOR, data={**FORM, "phone": "03-1111-2222"}
        )
    (mail,) = OutboxMail.objects.all()
    assert "・電話番号" in mail.body and "Phone" not in mail.body
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", mail.body)


def test_a_password_change_that_rolls_back_leaves_no_notice(demo, monkeypatch):
    import mypage.accounts.services as module

    set_contract(contact_email="anzu@example.jp")
    c = contract()
    password = account_services.password_prepare(PASSWORD, identifiers=[CUSTOMER], contract=c)
    real = module.password_notice

    def notice_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("after the enqueue")

    monkeypatch.setattr(module, "password_notice", notice_then_fail)
    with pytest.raises(RuntimeError):
        account_services.customer_password_change(contract=c, actor=ACTOR, password=password)
    assert OutboxMail.objects.count() == 0
    assert not AuditEntry.objects.filter(action="customer_password_change").exists()
