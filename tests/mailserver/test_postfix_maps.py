"""Postfix's lookup tables over the portal's views (issue 13 points 4 and 6), asked with
``postmap -q`` against the rendered map files and the test database: the ISP's domains are
``virtual_mailbox_domains``; a live ISP address is a ``virtual_mailbox_maps`` hit (its login), and
a deleted ID's, a switched ID's, another provider's or an unknown address is not."""

from __future__ import annotations

import subprocess

import pytest

from mypage.accounts.models import AccountId
from mypage.lifecycle import account_delete
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.models import MailKind
from mypage.testing.factories import make_mail_address
from tests.support.accounts import ACTOR
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

POSTMAP = "/usr/sbin/postmap"


def lookup(dovecot: Dovecot, table: str, key: str) -> str | None:
    """``postmap -q key driver:file``: the value, or None when the key is not in the table."""
    assert dovecot.conf is not None
    driver = "pgsql" if "hosts =" in (dovecot.conf.parent / f"postfix/{table}.cf").read_text() else "sqlite"
    result = subprocess.run(
        [
            POSTMAP,
            "-c",
            f"{dovecot.conf.parent}/postfix",
            "-q",
            key,
            f"{driver}:{dovecot.conf.parent}/postfix/{table}.cf",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: not found; anything else is an error
    return result.stdout.strip() if result.returncode == 0 else None


def test_the_isp_domains_are_the_virtual_mailbox_domains(demo, dovecot: Dovecot):
    for domain in ("s2.spaaqs.ne.jp", "spaaqs.ne.jp", "r2.ucom.ne.jp", "S2.SPAAQS.NE.JP"):
        assert lookup(dovecot, "virtual_mailbox_domains", domain) == domain.lower()
    for domain in ("example.com", "spaaqs.ne.jp.example.com", "' OR '1'='1"):
        assert lookup(dovecot, "virtual_mailbox_domains", domain) is None


def test_live_deleted_switched_and_external_addresses(demo, dovecot: Dovecot):
    maps = "virtual_mailbox_maps"
    three = AccountId.live.get(account_id="arteri-an-003")
    make_mail_address(three, MailKind.ISP, "arteri-an-003@s2.spaaqs.ne.jp")
    assert lookup(dovecot, maps, "arteri-an-002@s2.spaaqs.ne.jp") == "arteri-an-002"
    assert lookup(dovecot, maps, "ARTERI-AN-003@s2.spaaqs.ne.jp") == "arteri-an-003"
    assert lookup(dovecot, maps, "nobody@s2.spaaqs.ne.jp") is None

    account_delete(account=three, actor=ACTOR)
    assert lookup(dovecot, maps, "arteri-an-003@s2.spaaqs.ne.jp") is None

    two = AccountId.live.get(account_id="arteri-an-002")
    mail_address_change(
        contract=two.contract, account=two, actor=ACTOR, kind=MailKind.EXTERNAL, address="two@example.com"
    )
    assert lookup(dovecot, maps, "arteri-an-002@s2.spaaqs.ne.jp") is None
    assert lookup(dovecot, maps, "two@example.com") is None  # another provider's: not ours to deliver


def test_the_rendered_main_cf_is_valid_postfix_and_delivers_to_dovecots_lmtp(demo, dovecot: Dovecot):
    assert dovecot.conf is not None
    result = subprocess.run(
        ["/usr/sbin/postconf", "-c", f"{dovecot.conf.parent}/postfix", "-n"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"virtual_transport = lmtp:inet:127.0.0.1:{dovecot.lmtp_port}" in result.stdout
    # Only main.cf is ours (master.cf is the MTA's own): no other complaint.
    complaints = [line for line in result.stderr.splitlines() if "master.cf" not in line]
    assert complaints == []
