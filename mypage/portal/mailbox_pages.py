"""The settings of an ISP mailbox (SPEC §5): F-FWD メール転送設定 and F-AUTOREPLY メール自動返信設定,
each a three-step procedure (``portal.flow``) of one account ID.

- Both exist only for an account ID with an ISP mailbox: without one, the input screen says so
  (it needs the brand's mail address) and links to メールアドレス登録／変更, with no form; a POST
  there changes nothing, and the services refuse again at commit (``mail.services.isp_mailbox``).
- The forms run the same rules as the services (``mail.rules``), so the messages beside the
  fields are the rules' own, at 次へ進む; the services check again inside the change's
  transaction, and what they refuse lands beside the same fields (the form's names are the
  services' field names: ``forward_1``…``forward_5``, ``subject``, ``body``, ``end``,
  ``interval_days``).
- Forwarding has exactly ``rules.FORWARD_MAX`` inputs: a ``forward_6`` in a POST is not a field of
  the form and is ignored (never stored).
- The auto-reply's dates are JST calendar days, both inclusive, typed as ``YYYY-MM-DD``
  (``<input type="date">``); the payload keeps them as ISO strings (the session is JSON).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.formatting import date_long
from mypage.mail import rules, services
from mypage.mail.models import MailAddress
from mypage.mail.services import AutoReplySettings, ForwardingSettings

from .flow import Draft, FormProcedure, Nothing, Row, Step, row
from .forms import MessagesPerField

YES, NO = "yes", "no"
_YES_NO = [(YES, gettext_lazy("する")), (NO, gettext_lazy("しない"))]
DATE_FORMAT = "%Y-%m-%d"  # what <input type="date"> sends
# The code of a NUL's error (ProhibitNullCharactersValidator), whose Japanese message is unclear.
NUL = "null_characters_not_allowed"


def _mailbox(account: AccountId) -> MailAddress | None:
    """The account ID's ISP mailbox, or None (未登録, or another provider's address)."""
    current = services.current_address(account)
    return current if current is not None and current.is_isp else None


def _yes_no(label: Any, *, message: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=_YES_NO,
        coerce=lambda value: value == YES,
        widget=forms.RadioSelect(attrs={"class": "inline-choices"}),
        error_messages={"required": message, "invalid_choice": message},
    )


def _yes_no_value(flag: bool) -> str:
    return YES if flag else NO


class _MailboxProcedure[F: forms.Form, P, R](FormProcedure[F, P, R]):
    """What both settings share: the fixed rows of the input screen, and the screen without a
    form for an account ID that has no ISP mailbox."""

    commit_label = gettext_lazy("設定")
    intro_text: Any = ""

    def context(self, step: Step) -> dict[str, Any]:
        mailbox = _mailbox(step.target)
        return {
            "intro": self.intro_text,
            "fixed_rows": [
                row(_("アカウントID"), step.target.account_id),
                row(_("メールアドレス"), mailbox.address if mailbox else _("未登録")),
            ],
        }

    def _no_mailbox(self, step: Step) -> HttpResponseBase:
        brand = step.contract.plan.brand.name
        return self._render(
            step,
            "portal/mail_no_mailbox.html",
            {"message": _(services.NO_ISP_MAILBOX) % {"brand": brand}, "brand_name": brand},
        )

    def input_view(
        self, request: HttpRequest, viewer: Viewer, account: AccountId | None = None
    ) -> HttpResponseBase:
        step = Step(request, viewer, account)
        if _mailbox(step.target) is None:
            self._drop(request, account)
            return self._no_mailbox(step)  # a POST too: nothing is checked, kept or stored
        return super().input_view(request, viewer, account)

    def _refused(self, step: Step, draft: Draft[P], refused: Refused) -> HttpResponseBase:
        if _mailbox(step.target) is None:  # the mailbox went between 次へ進む and 設定
            return self._no_mailbox(step)
        return super()._refused(step, draft, refused)

    def mailbox_address(self, step: Step) -> str:
        mailbox = _mailbox(step.target)
        return mailbox.address if mailbox else ""


# --- F-FWD メール転送設定 ------------------------------------------------------------------------


def _forward_name(position: int) -> str:
    return f"forward_{position}"


FORWARD_FIELDS = [_forward_name(i) for i in range(1, rules.FORWARD_MAX + 1)]


class ForwardingForm(forms.Form):
    """転送先メールアドレス1〜5 and 転送元にメールを残す; all blank: no forwarding."""

    keep_copy = _yes_no(
        gettext_lazy("転送元にメールを残す"),
        message=gettext_lazy("転送元にメールを残すかどうかを選択してください。"),
    )

    def __init__(self, *args: Any, mailbox: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mailbox = mailbox
        addresses = {
            name: forms.CharField(
                label=_("転送先メールアドレス%(n)d") % {"n": i},
                required=False,
                max_length=rules.ADDRESS_MAX,
                widget=forms.EmailInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
                error_messages={
                    "max_length": _("転送先メールアドレス%(n)dは%(max)d文字以内で入力してください。")
                    % {"n": i, "max": rules.ADDRESS_MAX},
                    NUL: _("メールアドレスに使用できない文字が含まれています。"),
                },
            )
            for i, name in enumerate(FORWARD_FIELDS, start=1)
        }
        # The addresses first, in order; then keep_copy.
        self.fields = {**addresses, "keep_copy": self.fields["keep_copy"]}
        self.fields["forward_1"].help_text = _(
            "転送先は%(max)d件まで登録できます。転送しない場合はすべて空欄にしてください。"
        ) % {"max": rules.FORWARD_MAX}
        self.fields["keep_copy"].help_text = _(
            "「しない」を選択すると、転送したメールは転送元のメールボックスに残りません。"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        typed = [data.get(name, "") if name not in self.errors else "" for name in FORWARD_FIELDS]
        for position, problems in rules.forwarding_problems(typed, mailbox=self.mailbox).items():
            for problem in problems:
                self.add_error(None if position < 0 else FORWARD_FIELDS[position], problem)
        return data


class MailForwarding(_MailboxProcedure[ForwardingForm, ForwardingSettings, Nothing]):
    """F-FWD メール転送設定: up to five addresses, and whether the mailbox keeps a copy."""

    name = "account_forwarding"
    feature = Feature.FWD
    title = gettext_lazy("メール転送設定")
    form_class = ForwardingForm
    intro_text = gettext_lazy(
        "このメールアドレスに届いたメールを、指定したメールアドレスへ転送します。"
        "転送先は5件まで登録できます。「転送元にメールを残す」で「する」を選択すると、"
        "転送したメールはこのメールボックスにも残ります。"
    )

    def form(self, step: Step, **kwargs: Any) -> ForwardingForm:
        return ForwardingForm(mailbox=self.mailbox_address(step), **kwargs)

    def initial(self, step: Step) -> dict[str, Any]:
        current = services.forwarding_of(step.target)
        return {
            **dict(zip(FORWARD_FIELDS, current.addresses, strict=False)),
            "keep_copy": _yes_no_value(current.keep_copy),
        }

    def prepare(self, step: Step, form: ForwardingForm) -> ForwardingSettings:
        data = form.cleaned_data
        addresses = tuple(data[name].strip() for name in FORWARD_FIELDS if data[name].strip())
        return ForwardingSettings(addresses, bool(data["keep_copy"]))

    def confirm_rows(self, step: Step, payload: ForwardingSettings) -> list[Row]:
        targets = [
            row(_("転送先メールアドレス%(n)d") % {"n": i}, address)
            for i, address in enumerate(payload.addresses, start=1)
        ] or [row(_("転送先"), _("転送しない"))]
        return [
            row(_("アカウントID"), step.target.account_id),
            row(_("メールアドレス"), self.mailbox_address(step)),
            *targets,
            row(_("転送元にメールを残す"), _("する") if payload.keep_copy else _("しない")),
        ]

    def commit(self, step: Step, payload: ForwardingSettings) -> Nothing:
        services.forwarding_set(
            account=step.target,
            actor=step.actor,
            brand_name=step.contract.plan.brand.name,
            settings=payload,
        )
        return Nothing()


# --- F-AUTOREPLY メール自動返信設定 --------------------------------------------------------------


class _LinesField(forms.CharField):
    """A textarea's text with its line breaks as ``\\n`` (a browser sends CRLF), so that the
    length counted is the one the user sees."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        return text.replace("\r\n", "\n").replace("\r", "\n")


def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=[DATE_FORMAT],
        widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
        error_messages={"invalid": gettext_lazy("日付を正しく入力してください（例: 2026-04-01）。")},
    )


class AutoReplyForm(MessagesPerField):
    """自動返信 する/しない, 件名, 本文, 開始日, 終了日, 返信間隔. Switched off, the subject and body
    may be empty (what was typed is kept for next time)."""

    enabled = _yes_no(
        gettext_lazy("自動返信"), message=gettext_lazy("自動返信するかどうかを選択してください。")
    )
    subject = forms.CharField(label=gettext_lazy("件名"), required=False, max_length=rules.SUBJECT_MAX)
    body = _LinesField(
        label=gettext_lazy("本文"),
        required=False,
        strip=False,
        max_length=rules.BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    start = _date_field(gettext_lazy("開始日"))
    end = _date_field(gettext_lazy("終了日"))
    interval_days = forms.TypedChoiceField(
        label=gettext_lazy("返信間隔"),
        choices=[(str(days), str(days)) for days in rules.AUTOREPLY_INTERVALS],  # labelled in __init__
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "inline-choices"}),
        error_messages={
            "required": gettext_lazy("返信間隔を選択してください。"),
            "invalid_choice": gettext_lazy("返信間隔を選択してください。"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("subject", "body"):
            self.fields[name].error_messages[NUL] = _("%(label)sに使用できない文字が含まれています。") % {
                "label": self.fields[name].label
            }
        self.fields["subject"].error_messages["max_length"] = _(
            "件名は%(max)d文字以内で入力してください。"
        ) % {"max": rules.SUBJECT_MAX}
        self.fields["body"].error_messages["max_length"] = _("本文は%(max)d文字以内で入力してください。") % {
            "max": rules.BODY_MAX
        }
        self.fields["subject"].help_text = _("%(max)d文字以内。自動返信する場合は必須です。") % {
            "max": rules.SUBJECT_MAX
        }
        self.fields["body"].help_text = _("%(max)d文字以内。自動返信する場合は必須です。") % {
            "max": rules.BODY_MAX
        }
        self.fields["start"].help_text = _("指定しない場合は、設定した時点から返信します。")
        self.fields["end"].help_text = _(
            "指定しない場合は、「しない」に変更するまで返信します。終了日の当日まで返信します。"
        )
        interval = self.fields["interval_days"]
        assert isinstance(interval, forms.TypedChoiceField)
        interval.choices = [
            (str(days), _("%(days)d日に1回") % {"days": days}) for days in rules.AUTOREPLY_INTERVALS
        ]
        interval.help_text = _("同じ送信者へは、選んだ間隔に1回だけ返信します。")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems: dict[str, list[str]] = {}
        start, end = data.get("start"), data.get("end")
        if data.get("enabled"):
            problems = rules.autoreply_problems(
                subject=data.get("subject", ""),
                body=data.get("body", ""),
                start=start,
                end=end,
                today=clock.today(),
            )
        elif start and end and end < start:
            problems = {"end": [_("終了日は開始日以降の日付を入力してください。")]}
        for name, messages in problems.items():
            if name in self.errors:
                continue  # the field's own message first (a NUL, too long, not a date)
            for message in messages:
                self.add_error(name, message)
        return data


@dataclass(frozen=True)
class AutoReplyInput:
    """The checked input (dates as ISO strings, "" for none: the session is JSON)."""

    enabled: bool
    subject: str
    body: str
    start: str
    end: str
    interval_days: int

    def settings(self) -> AutoReplySettings:
        return AutoReplySettings(
            enabled=self.enabled,
            subject=self.subject,
            body=self.body,
            start_on=dt.date.fromisoformat(self.start) if self.start else None,
            end_on=dt.date.fromisoformat(self.end) if self.end else None,
            interval_days=self.interval_days,
        )


def _day(value: str) -> str:
    return date_long(dt.date.fromisoformat(value)) if value else _("指定なし")


class MailAutoReply(_MailboxProcedure[AutoReplyForm, AutoReplyInput, Nothing]):
    """F-AUTOREPLY メール自動返信設定: on/off, subject, body, optional dates, the interval."""

    name = "account_autoreply"
    feature = Feature.AUTOREPLY
    title = gettext_lazy("メール自動返信設定")
    form_class = AutoReplyForm
    confirm_template = "portal/mail_autoreply_confirm.html"
    complete_template = "portal/mail_autoreply_complete.html"
    intro_text = gettext_lazy(
        "このメールアドレスにメールが届いたとき、送信者へ自動で返信します。"
        "開始日・終了日を指定すると、その期間（両日を含む、日本時間）だけ返信します。"
    )

    def initial(self, step: Step) -> dict[str, Any]:
        current = services.autoreply_of(step.target)
        return {
            "enabled": _yes_no_value(current.enabled),
            "subject": current.subject,
            "body": current.body,
            "start": current.start_on,
            "end": current.end_on,
            "interval_days": str(current.interval_days),
        }

    def prepare(self, step: Step, form: AutoReplyForm) -> AutoReplyInput:
        data = form.cleaned_data
        start, end = data.get("start"), data.get("end")
        return AutoReplyInput(
            enabled=bool(data["enabled"]),
            subject=data["subject"],
            body=data["body"],
            start=start.isoformat() if start else "",
            end=end.isoformat() if end else "",
            interval_days=int(data["interval_days"]),
        )

    def confirm_rows(self, step: Step, payload: AutoReplyInput) -> list[Row]:
        return [
            row(_("アカウントID"), step.target.account_id),
            row(_("メールアドレス"), self.mailbox_address(step)),
            row(_("自動返信"), _("する") if payload.enabled else _("しない")),
            row(_("件名"), payload.subject),
            row(_("本文"), payload.body),
            row(_("開始日"), _day(payload.start)),
            row(_("終了日"), _day(payload.end)),
            row(_("返信間隔"), _("同じ送信者へは %(days)d日に1回") % {"days": payload.interval_days}),
        ]

    def commit(self, step: Step, payload: AutoReplyInput) -> Nothing:
        services.autoreply_set(
            account=step.target,
            actor=step.actor,
            brand_name=step.contract.plan.brand.name,
            settings=payload.settings(),
        )
        return Nothing()


MAIL_FORWARDING = MailForwarding()
MAIL_AUTOREPLY = MailAutoReply()
