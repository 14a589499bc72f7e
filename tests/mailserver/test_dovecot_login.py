"""IMAP login against a real Dovecot reading the portal's database (issue 13 points 2 and 6): the
account ID and its password; refused for a wrong password, an ID without an ISP mailbox, an ID
switched to another provider's address and a deleted ID; a password changed in the portal (or
rehashed at a portal login) is the mail password at Dovecot's next lookup, with no restart."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher
from django.test import override_settings

from mypage.accounts.models import AccountId
from mypage.accounts.services import account_password_change, password_prepare
from mypage.lifecycle import account_delete
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.models import MailKind
from mypage.principals.models import Principal
from tests.support.accounts import ACTOR
from tests.support.dovecot import Dovecot
from tests.support.logins import ADMIN_002, logged_in_client

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ID, PASSWORD = "arteri-an-002", "demo-acct-002"  # the demo's ISP mailbox (SPEC §13)


def two() -> AccountId:
    return AccountId.live.get(account_id=ID)


def test_the_account_id_and_its_password_log_in(demo, dovecot: Dovecot):
    assert dovecot.refusal(ID, PASSWORD) == ""
    assert dovecot.refusal(ID.upper(), PASSWORD) == ""  # the login is case-insensitive as the portal's


@pytest.mark.parametrize(
    ("user", "password"),
    [
        (ID, "demo-acct-00"),  # wrong password
        (ID, ""),
        ("arteri-an-003", "demo-acct-003"),  # a user ID without an ISP mailbox
        ("arteri-an-002@s2.spaaqs.ne.jp", PASSWORD),  # the address is not the login
        ("90000000000000", "demo-pass-9000"),  # a customer number is no mailbox
        ("nobody", "x"),
        (ID + "' OR '1'='1", PASSWORD),
    ],
)
def test_what_is_not_a_mailbox_login_is_refused(demo, dovecot: Dovecot, user, password):
    assert dovecot.refusal(user, password) == "AUTHENTICATIONFAILED"


def test_an_id_switched_to_another_providers_address_is_refused(demo, dovecot: Dovecot):
    account = two()
    mail_address_change(
        contract=account.contract,
        account=account,
        actor=ACTOR,
        kind=MailKind.EXTERNAL,
        address="me@example.com",
    )
    assert dovecot.refusal(ID, PASSWORD) == "AUTHENTICATIONFAILED"


def test_a_deleted_id_is_refused(demo, dovecot: Dovecot):
    assert dovecot.refusal(ID, PASSWORD) == ""
    account_delete(account=two(), actor=ACTOR)
    assert dovecot.refusal(ID, PASSWORD) == "AUTHENTICATIONFAILED"


def test_a_password_changed_in_the_portal_is_the_mail_password_at_once(demo, dovecot: Dovecot):
    assert dovecot.refusal(ID, PASSWORD) == ""
    account = two()
    new = "Kawa-Sumi-8821"
    prepared = password_prepare(new, identifiers=[ID], contract=account.contract, principal=account.principal)
    account_password_change(account=account, actor=ACTOR, password=prepared)
    started = dovecot.process
    assert dovecot.refusal(ID, PASSWORD) == "AUTHENTICATIONFAILED"
    assert dovecot.refusal(ID, new) == ""
    assert dovecot.process is started and started.poll() is None  # the same process: no restart


def test_a_rehash_at_a_portal_login_is_effective_at_the_next_lookup(demo, dovecot: Dovecot):
    before = Principal.objects.get(account__account_id=ID).password
    assert "m=19456" in before
    with override_settings(PASSWORD_HASHERS=["tests.mailserver.hashers.StrongerArgon2Hasher"]):
        logged_in_client(ADMIN_002)  # a portal login rehashes with the new parameters
        after = Principal.objects.get(account__account_id=ID).password
    assert after != before and "m=32768" in after
    assert dovecot.refusal(ID, PASSWORD) == ""


def test_a_hash_libsodium_cannot_verify_is_no_mail_login_at_all(demo, dovecot: Dovecot):
    # Django's own Argon2 hasher uses p=8, which libsodium (Dovecot) does not verify: the view
    # offers no password rather than one Dovecot would misjudge; PBKDF2 likewise.
    for hasher in (Argon2PasswordHasher(), PBKDF2PasswordHasher()):
        stored = hasher.encode(PASSWORD, hasher.salt())
        assert hasher.verify(PASSWORD, stored)
        Principal.objects.filter(account__account_id=ID).update(password=stored)
        assert dovecot.refusal(ID, PASSWORD) == "AUTHENTICATIONFAILED", hasher.algorithm
