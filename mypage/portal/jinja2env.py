"""The Jinja2 environment of the portal's pages (``TEMPLATES`` backend ``Jinja2``).

The portal renders with Jinja2 rather than Django's template language because a logged-in page
is rendered on every request and Jinja2 compiles templates to Python: the overview renders about
ten times faster (docs/performance.md). Django's admin keeps Django templates.

What the templates get besides their context (Django's backend adds ``request``, ``csrf_input``
and ``csrf_token``):

- ``_("…")``, ``gettext``, ``ngettext`` — Django's translation machinery (``jinja2.ext.i18n``).
  Write ``{{ _("文言") }}`` and ``{{ _("%(n)s個")|format(n=…) }}``: that form is what
  ``makemessages`` reads from templates.
- ``url(name, *args)`` — ``reverse()`` memoised per (script prefix, name, args): a page asks for
  the same few dozen URLs on every request.
- ``static(path)`` — the hashed static URL, memoised the same way.
- ``get_messages(request)`` — ``django.contrib.messages`` of the request.
- ``current_language()`` — the active language code (``<html lang>``).
- the filters of ``mypage.core.formatting`` — ``{{ fee|yen_before_tax }}``, ``{{ day|date_long }}``,
  ``{{ month|month_long }}``…: money and dates in the active language, one formatter each.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, reverse
from django.utils import translation
from jinja2 import Environment

from mypage.core.formatting import FILTERS


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


def environment(**options: Any) -> Environment:
    env = Environment(autoescape=options.pop("autoescape", True), extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_translations(translation, newstyle=False)  # type: ignore[attr-defined]
    env.globals.update(
        url=url, static=static, get_messages=messages, current_language=translation.get_language
    )
    env.filters.update(FILTERS)
    return env
