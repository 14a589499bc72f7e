"""Templates compiled once per language (mypage.portal.jinja2env): ``_("literal")`` is translated
when the template is compiled, into the active language's own copy; what the page gets is what
translating at render time gives, and one language's text never reaches another's page."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import trans_real
from jinja2 import DictLoader, Environment

from mypage.portal.jinja2env import environment

SOURCE = (
    '{{ _("ご契約情報一覧") }}|{{ _("%(n)s個")|format(n=n) }}|{{ _(label) }}|{{ obj._("ご契約情報一覧") }}'
)


class Obj:
    def _(self, text: str) -> str:  # an attribute called "_" is not the translation function
        return f"attr:{text}"


FAKE_EN = {"ご契約情報一覧": "Contract overview", "%(n)s個": "%(n)s items", "ログアウト": "Log out"}


@pytest.fixture
def fake_english(monkeypatch):
    """An English catalogue with a few entries (the project's English .po is not filled in yet)."""
    english = trans_real.translation("en")
    real = english.gettext
    monkeypatch.setattr(english, "gettext", lambda message: FAKE_EN.get(message) or real(message))


def render(env, **context) -> str:
    return env.get_template("t.html").render({"n": 3, "label": "ログアウト", "obj": Obj(), **context})


def test_each_language_gets_its_own_translation(fake_english):
    env = environment(loader=DictLoader({"t.html": SOURCE}))
    with translation.override("en"):
        assert render(env) == "Contract overview|3 items|Log out|attr:ご契約情報一覧"
    with translation.override("ja"):
        assert render(env) == "ご契約情報一覧|3個|ログアウト|attr:ご契約情報一覧"
    with translation.override("en"):
        assert render(env) == "Contract overview|3 items|Log out|attr:ご契約情報一覧"
        en_template = env.get_template("t.html")
    with translation.override("ja"):
        assert env.get_template("t.html") is not en_template


def test_compiled_text_is_what_render_time_translation_gives(fake_english):
    """The same template through the base environment (translating while rendering) and through
    the compiled copy of each language give the same page."""
    env = environment(loader=DictLoader({"t.html": SOURCE}))
    for language in ("ja", "en"):
        with translation.override(language):
            compiled = env.get_template("t.html")
            at_render_time = Environment.get_template(env.mypage_base, "t.html")  # no dispatch
            assert compiled.environment is not env.mypage_base
            assert at_render_time.environment is env.mypage_base
            context = {"n": 3, "label": "ログアウト", "obj": Obj()}
            assert compiled.render(context) == at_render_time.render(context)


def test_a_language_outside_languages_translates_at_render_time(fake_english):
    env = environment(loader=DictLoader({"t.html": SOURCE}))
    with translation.override("fr"):
        template = env.get_template("t.html")
        assert template.environment is env.mypage_base
        assert render(env) == "ご契約情報一覧|3個|ログアウト|attr:ご契約情報一覧"


def test_escaping_is_unchanged(monkeypatch):
    english = trans_real.translation("en")
    monkeypatch.setattr(english, "gettext", lambda message: "<b>&</b>" if message == "x" else message)
    env = environment(loader=DictLoader({"t.html": '{{ _("x") }}'}))
    with translation.override("en"):
        assert env.get_template("t.html").render({}) == "&lt;b&gt;&amp;&lt;/b&gt;"
