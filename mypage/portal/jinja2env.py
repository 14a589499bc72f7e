"""The Jinja2 environment of the portal's pages (``TEMPLATES`` backend ``Jinja2``).

The portal renders with Jinja2 rather than Django's template language because a logged-in page
is rendered on every request and Jinja2 compiles templates to Python: the overview renders about
ten times faster (docs/performance.md). Django's admin keeps Django templates.

What the templates get besides their context (Django's backend adds ``request``, ``csrf_input``
and ``csrf_token``):

- ``_("…")``, ``gettext``, ``ngettext`` — Django's translation machinery (``jinja2.ext.i18n``).
  Write ``{{ _("文言") }}`` and ``{{ _("%(n)s個")|format(n=…) }}``: that form is what
  ``makemessages`` reads from templates. ``_("literal")`` is translated once, when the template
  is compiled: each language of ``LANGUAGES`` has its own compiled copy of the templates
  (``PortalEnvironment``, ``TranslatedLiterals``), so a page does not call gettext some 200 times
  for text that never changes. Anything else passed to ``_()`` is translated when rendered.
- ``url(name, *args)`` — ``reverse()`` memoised per (script prefix, name, args): a page asks for
  the same few dozen URLs on every request.
- ``static(path)`` — the hashed static URL, memoised the same way.
- ``get_messages(request)`` — ``django.contrib.messages`` of the request.
- ``current_language()`` — the active language code (``<html lang>``).
- ``text_blocks`` — a staff-written text (サービス利用規約, サービス説明) as headings, lists and
  paragraphs, for ``portal/_texts.html``'s ``text_body`` (escaped like everything else).
- the filters of ``mypage.core.formatting`` — ``{{ fee|yen_before_tax }}``, ``{{ day|date_long }}``,
  ``{{ month|month_long }}``…: money and dates in the active language, one formatter each.
- ``tel`` — a phone number as a ``tel:`` link (``{{ brand.support_phone|tel }}``); inside a
  translated sentence, escape the sentence first so the link stays a link:
  ``{{ _("TEL: %(phone)s")|e|format(phone=brand.x|tel) }}`` (the other values are escaped by it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, reverse
from django.utils import translation
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.lexer import TOKEN_DOT, TOKEN_LPAREN, TOKEN_NAME, TOKEN_RPAREN, TOKEN_STRING, Token, TokenStream
from markupsafe import Markup

from mypage.core.formatting import FILTERS

from .texts import text_blocks

_NOT_IN_TEL = re.compile(r"[^0-9+\-]")


def tel(number: object) -> Markup:
    """A phone number as a link a phone can call (issue 11 #18): ``tel:`` with the digits and
    hyphens as written (RFC 3966's visual separators). The national form, not +81: Japanese
    free-dial numbers (0120…) cannot be called in the international form. Nothing → nothing."""
    shown = str(number or "").strip()
    href = _NOT_IN_TEL.sub("", shown)
    if not href:
        return Markup.escape(shown)
    return Markup('<a href="tel:{}" class="tel">{}</a>').format(href, shown)


@lru_cache(maxsize=8192)
def _reverse(prefix: str, name: str, args: tuple[str, ...]) -> str:
    return reverse(name, args=args)


def url(name: str, *args: object) -> str:
    return _reverse(get_script_prefix(), name, tuple(str(a) for a in args))


@lru_cache(maxsize=256)
def static(path: str) -> str:
    return django_static(path)


def _clear(*, setting: str, **_kwargs: Any) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        _reverse.cache_clear()
    if setting in {"STATIC_URL", "STORAGES", "STATIC_ROOT"}:
        static.cache_clear()


setting_changed.connect(_clear, dispatch_uid="portal-jinja2-caches")


def messages(request: Any) -> Any:
    return get_messages(request) if request is not None else []


class TranslatedLiterals(Extension):
    """Compiles ``_("literal")`` as the literal's translation in the environment's language: the
    same string ``gettext`` would return when the page is rendered, found once per process."""

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        language = getattr(self.environment, "mypage_language", None)
        tokens = list(stream)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if (
                language is not None
                and token.type == TOKEN_NAME
                and token.value == "_"
                and (i == 0 or tokens[i - 1].type != TOKEN_DOT)
                and [t.type for t in tokens[i + 1 : i + 4]] == [TOKEN_LPAREN, TOKEN_STRING, TOKEN_RPAREN]
            ):
                with translation.override(language):
                    text = translation.gettext(tokens[i + 2].value)
                yield Token(token.lineno, TOKEN_STRING, text)
                i += 4
            else:
                yield token
                i += 1


OVERLAY_CACHE_SIZE = 400  # Jinja2's default: compiled templates kept per language


class PortalEnvironment(Environment):
    """The portal's environment: templates are compiled once per language of ``LANGUAGES`` (an
    overlay with ``TranslatedLiterals`` each), and ``get_template`` answers with the copy of the
    active language. Any other language (or none) gets templates that translate when rendered."""

    mypage_language: str | None = None
    mypage_base: PortalEnvironment
    mypage_overlays: MutableMapping[str, PortalEnvironment]

    def _in_language(self) -> PortalEnvironment:
        language = translation.get_language()
        if language == self.mypage_language:
            return self
        found = self.mypage_overlays.get(language) if language else None
        if found is None:
            if language not in dict(settings.LANGUAGES):
                return self.mypage_base
            base = self.mypage_base
            # A cache of its own (the base's may hold templates compiled without the extension).
            found = base.overlay(extensions=[TranslatedLiterals], cache_size=OVERLAY_CACHE_SIZE)
            assert isinstance(found, PortalEnvironment)
            found.mypage_language = language
            self.mypage_overlays[language] = found
        return found

    def get_template(self, name: Any, parent: str | None = None, globals: Any = None) -> Any:
        env = self._in_language()
        if env is not self:
            return env.get_template(name, parent, globals)
        return super().get_template(name, parent, globals)

    def select_template(self, names: Any, parent: str | None = None, globals: Any = None) -> Any:
        env = self._in_language()
        if env is not self:
            return env.select_template(names, parent, globals)
        return super().select_template(names, parent, globals)


def environment(**options: Any) -> Environment:
    env = PortalEnvironment(
        autoescape=options.pop("autoescape", True), extensions=["jinja2.ext.i18n"], **options
    )
    env.install_gettext_translations(translation, newstyle=False)  # type: ignore[attr-defined]
    env.globals.update(
        url=url, static=static, get_messages=messages, current_language=translation.get_language
    )
    env.filters.update(FILTERS)
    env.filters["tel"] = tel
    env.filters["text_blocks"] = text_blocks  # staff-written texts, escaped (portal/texts.py)
    env.mypage_base = env
    env.mypage_overlays = {}
    return env
