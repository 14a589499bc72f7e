"""A three-step procedure for the flow's own tests (``tests/pages/flow/test_flow.py``), served
beside the portal's URLs by ``tests.support.flow_urls``. Its commit writes an audit entry and does
what the typed word asks: ``network`` opens a socket, ``refuse`` raises ``Refused``."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from django import forms

from mypage.accounts.permissions import Feature
from mypage.audit.models import AuditAction, AuditEntry
from mypage.audit.services import audit_change
from mypage.core.errors import Refused
from mypage.core.outside import _database_only
from mypage.portal.flow import FormProcedure, Row, Step, row

#: Where ``network`` connects (a test sets it to a listening socket of its own).
TARGET: list[tuple[str, int]] = []


class ProbeForm(forms.Form):
    word = forms.CharField(max_length=20)
    secret = forms.CharField(max_length=20, required=False, widget=forms.PasswordInput)


@dataclass(frozen=True)
class Probe:
    word: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ProbeDone:
    word: str
    inside: str | None  # what database_only said while commit ran


class ProbeProcedure(FormProcedure[ProbeForm, Probe, ProbeDone]):
    name = "flow_probe"
    feature = Feature.PROFILE
    title = "probe"
    form_class = ProbeForm

    def prepare(self, step: Step, form: ProbeForm) -> Probe:
        word = form.cleaned_data["word"]
        if word == "early":
            raise Refused.field("word", "refused at 次へ進む")
        return Probe(word, tags=("a", "b"))

    def confirm_rows(self, step: Step, payload: Probe) -> list[Row]:
        # Read from the database: on the complete screen this shows the count before the change.
        return [row("word", payload.word), row("entries", AuditEntry.objects.count())]

    def commit(self, step: Step, payload: Probe) -> ProbeDone:
        audit_change(step.actor, AuditAction.STEP_UP, target=payload.word)
        if payload.word == "network":
            socket.create_connection(TARGET[0], timeout=2).close()
        if payload.word == "refuse":
            raise Refused({"word": ["refused at commit"], "__all__": ["the page message"]})
        return ProbeDone(payload.word, _database_only.get())


PROBE = ProbeProcedure()
