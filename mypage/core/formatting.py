"""Money and dates as the pages and mails write them, in the active language (one place).

Japanese follows the manual: 「300 円 (税別)」 for a fee before tax, 「1,000円」 for an amount of a
statement, 「2015年4月1日」, 「2015/04/01」 for an application date, 「2026年10月」 for a month.
Every pattern is a translatable string, so money and dates follow the language the page's text is
in: an English catalogue translates 「%(y)d年%(m)d月%(d)d日」 with the rest of the page. (Django's
locale date formats were tried and left: with the English catalogue still empty, an English browser
got Japanese text around 「12/02/2026」.) Every filter is registered in the portal's Jinja2
environment and in the mail templates under the same name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from . import clock


class MonthLike(Protocol):
    """A calendar month (``billing_engine.Month``): core does not import the engine."""

    @property
    def first_day(self) -> dt.date: ...


def _grouped(amount: int) -> str:
    return number_format(amount, force_grouping=True)


def yen(amount: int) -> str:
    """An amount of a statement: 「1,000円」."""
    return _("%(amount)s円") % {"amount": _grouped(amount)}


def yen_before_tax(amount: int) -> str:
    """A fee as the service pages show it: 「300 円 (税別)」 (manual §1.5–§2.2)."""
    return _("%(amount)s 円 (税別)") % {"amount": _grouped(amount)}


def yen_figure(amount: int) -> str:
    """The number alone, grouped: 「3,000」 (a mail writes 「3,000円 (税別)」 around it)."""
    return _grouped(amount)


def _local(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(clock.TOKYO).date()
    return value


def _parts(day: dt.date) -> dict[str, int]:
    return {"y": day.year, "m": day.month, "d": day.day}


def date_long(value: dt.date | dt.datetime) -> str:
    """「2015年4月1日」; an instant is taken in Japan time."""
    return _("%(y)d年%(m)d月%(d)d日") % _parts(_local(value))


def date_short(value: dt.date | dt.datetime) -> str:
    """「2015/04/01」 (お申し込み日)."""
    return _("%(y)04d/%(m)02d/%(d)02d") % _parts(_local(value))


def month_long(month: MonthLike | dt.date) -> str:
    """「2026年10月」."""
    day = month if isinstance(month, dt.date) else month.first_day
    return _("%(y)d年%(m)d月") % _parts(day)


def datetime_long(moment: dt.datetime) -> str:
    """「2026年12月1日 09:05」, Japan time: when a notice says a change was made."""
    local = moment.astimezone(clock.TOKYO)
    return _("%(date)s %(time)s") % {"date": date_long(local), "time": f"{local:%H:%M}"}


def day_before(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=1)


#: The portal's Jinja2 filters (``{{ fee|yen_before_tax }}``).
FILTERS: dict[str, Callable[..., object]] = {
    "yen": yen,
    "yen_before_tax": yen_before_tax,
    "yen_figure": yen_figure,
    "date_long": date_long,
    "date_short": date_short,
    "month_long": month_long,
    "datetime_long": datetime_long,
    "day_before": day_before,
}
