"""The formatters of ``core.formatting`` as filters of the mail templates (Django's template
language, a builtin of the ``django`` engine): ``{{ changed_at|datetime_long }}``. The mail is
rendered in its own language (``mail_enqueue(language=…)``), so the callers pass data — dates,
amounts, lazy labels — and the template words and formats it."""

from __future__ import annotations

from django import template

from mypage.core.formatting import FILTERS

register = template.Library()
for _name, _function in FILTERS.items():
    register.filter(_name, _function)
