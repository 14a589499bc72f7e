"""lifecycle.account_delete: an account ID's deletion across apps is one transaction (the pages'
walk through it: ``tests/pages/account_ids/``)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

from mypage import lifecycle
from mypage.accounts.models import AccountId
from tests.support.accounts import ACTOR
from tests.support.logins import USER_003, logged_in_client, session_cookie

pytestmark = pytest.mark.django_db


def test_a_failure_anywhere_rolls_the_whole_deletion_back(demo, monkeypatch):
    user = logged_in_client(USER_003)
    key = session_cookie(user)

    def broken(*, account, actor):
        raise RuntimeError("option cancellation failed")

    monkeypatch.setattr(lifecycle, "account_subscriptions_end", broken)
    with pytest.raises(RuntimeError):
        lifecycle.account_delete(account=AccountId.live.get(account_id="arteri-an-003"), actor=ACTOR)
    account = AccountId.objects.get(account_id="arteri-an-003")
    assert account.retired_at is None and account.principal.is_active
    assert Session.objects.filter(session_key=key).exists()
    assert user.get("/user/").status_code == 200
