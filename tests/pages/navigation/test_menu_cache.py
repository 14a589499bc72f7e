"""The side menu kept per process (mypage.portal.navigation.menu_for): for every viewer and page it
is exactly the menu computed from the permission table, never another viewer's, and it follows a
change of the catalogue."""

from __future__ import annotations

import pytest

from mypage.accounts.backends import PrincipalBackend
from mypage.accounts.models import AccountId, Permission
from mypage.accounts.selectors import Viewer, viewer_for
from mypage.contracts.models import Contract
from mypage.core.models import Product
from mypage.portal.navigation import MENU, menu_for
from mypage.testing.factories import make_account

pytestmark = pytest.mark.django_db

HOLDERS = ("90000000000000", "99999999999999", "80000000000000")
ACCOUNT_IDS = ("arteri-an-001", "arteri-an-002", "arteri-an-003")


def viewer_of(principal_pk: int) -> Viewer:
    principal = PrincipalBackend().get_user(principal_pk)
    assert principal is not None
    viewer = viewer_for(principal)
    assert viewer is not None
    return viewer


def uncached(viewer: Viewer, path: str) -> list:
    """The menu as navigation.menu_for computed it on every request before it was kept."""
    from django.urls import reverse

    from mypage.mail.selectors import uses_isp_mail

    groups = []
    for group in MENU:
        links = []
        for entry in group.entries:
            decision = viewer.can(entry.feature)
            if not decision.visible:
                continue
            if decision.own_account_only and not entry.own_account:
                continue  # a user ID: account-scoped functions only as its own ID's pages
            if entry.own_account:
                if not decision.own_account_only or viewer.account is None:
                    continue
                if entry.needs_mailbox and not uses_isp_mail(AccountId.objects.get(pk=viewer.account.pk)):
                    continue  # forwarding, auto-reply, Web space: only with an ISP mailbox
                url = reverse(entry.url_name, kwargs={"account_id": viewer.account.account_id})
            else:
                url = reverse(entry.url_name)
            links.append(
                (
                    str(entry.label),
                    f"{url}#{entry.anchor}" if entry.anchor else url,
                    not entry.anchor and url == path,
                )
            )
        if links:
            groups.append((str(group.label), links))
    return groups


def shown(menu) -> list:
    return [
        (str(label), [(str(link.label), link.url, link.active) for link in links]) for label, links in menu
    ]


def viewers() -> list[Viewer]:
    pks = [Contract.objects.get(customer_number=n).principal_id for n in HOLDERS]
    pks += [AccountId.objects.get(account_id=a).principal_id for a in ACCOUNT_IDS]
    return [viewer_of(pk) for pk in pks]


def test_every_viewer_on_every_page_gets_the_menu_of_the_permission_table(demo):
    for viewer in viewers():
        paths = {url.split("#")[0] for _label, links in uncached(viewer, "") for _l, url, _a in links}
        for path in sorted(paths | {"/overview/", "/no/such/page/", "/account-ids/arteri-an-003/mail/"}):
            for _ in range(2):  # computed, then kept
                assert shown(menu_for(viewer, path)) == uncached(viewer, path), (viewer.role, path)


def test_two_user_ids_of_one_contract_each_see_their_own_pages(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    other = make_account(contract, "menu-user-02", Permission.USER)
    mine = viewer_of(AccountId.objects.get(account_id="arteri-an-003").principal_id)
    theirs = viewer_of(other.principal_id)
    menu_mine = str(shown(menu_for(mine, "/user/")))
    menu_theirs = str(shown(menu_for(theirs, "/user/")))
    assert "/account-ids/arteri-an-003/mail/" in menu_mine and "menu-user-02" not in menu_mine
    assert "/account-ids/menu-user-02/mail/" in menu_theirs and "arteri-an-003" not in menu_theirs


def test_the_menu_follows_a_change_of_the_catalogue(demo):
    holder = viewer_of(Contract.objects.get(customer_number="90000000000000").principal_id)
    assert "UCOM光 あんしん機器保証" in str(shown(menu_for(holder, "/overview/")))
    warranty = Product.objects.get(code="warranty_basic")
    warranty.plan_groups = ["no-such-group"]
    warranty.save()  # clears this process's catalogue; other processes reload it within a minute
    holder = viewer_of(Contract.objects.get(customer_number="90000000000000").principal_id)
    menu = shown(menu_for(holder, "/overview/"))
    assert "UCOM光 あんしん機器保証" not in str(menu)
    assert menu == uncached(holder, "/overview/")


def render_uncached(viewer: Viewer, path: str) -> str:
    """The menu's HTML as the layout rendered it on every request before it was kept."""
    from django.template.loader import get_template

    from mypage.portal.navigation import _menu

    menu = _menu.__wrapped__(*navigation_key(viewer, path))  # computed afresh, not from the cache
    return get_template("portal/_side_menu.html").render({"menu": menu})


def navigation_key(viewer: Viewer, path: str):
    from mypage.portal.navigation import _key

    return _key(viewer, path)


@pytest.fixture
def fresh_templates():
    """No compiled copy of the templates, nor menu HTML, from before the test's fake catalogue."""
    from django.template import engines

    from mypage.portal.navigation import _side_menu

    def clear() -> None:
        engines["jinja2"].env.mypage_overlays.clear()
        _side_menu.cache_clear()

    clear()
    yield
    clear()


def test_the_kept_html_is_the_menu_rendered_afresh_in_each_language(demo, monkeypatch, fresh_templates):
    from django.utils import translation
    from django.utils.translation import trans_real

    from mypage.portal.navigation import side_menu

    english = trans_real.translation("en")
    real = english.gettext
    fake = {"メニュー": "Menu", "ご契約情報一覧": "Contract overview"}
    monkeypatch.setattr(english, "gettext", lambda message: fake.get(message) or real(message))
    for viewer in viewers():
        for path in ("/overview/", "/user/", "/info/notices/", "/no/such/page/"):
            for language in ("ja", "en", "ja"):
                with translation.override(language):
                    kept = side_menu(viewer, path)
                    assert kept == render_uncached(viewer, path), (viewer.role, path, language)
                    assert ("Menu" in kept) is (language == "en")
                    assert shown(menu_for(viewer, path)) == uncached(viewer, path)


def test_two_user_ids_get_their_own_menu_html(demo):
    from mypage.portal.navigation import side_menu

    contract = Contract.objects.get(customer_number="90000000000000")
    other = make_account(contract, "menu-user-03", Permission.USER)
    mine = side_menu(viewer_of(AccountId.objects.get(account_id="arteri-an-003").principal_id), "/user/")
    theirs = side_menu(viewer_of(other.principal_id), "/user/")
    assert "/account-ids/arteri-an-003/" in mine and "menu-user-03" not in mine
    assert "/account-ids/menu-user-03/" in theirs and "arteri-an-003" not in theirs
