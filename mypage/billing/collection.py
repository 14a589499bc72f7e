"""``charge_month``: the monthly collection of issued statements by card (F-PAY, issue 14 point 6;
the job itself is ``charges.StatementCharge``).

``charges_make(month)`` gives every issued statement of a closed month with something to pay
(total > 0) its charge row, in chunks by statement id, each chunk one transaction holding the
month close's row lock (two runs at once take turns; the second finds the rows made and adds
none; a run killed part-way is finished by the next). A contract's card in use, valid this month,
is charged through a durable job; without one the statement is marked 別途お支払い at once (another
payment route, no job)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from mypage.audit.models import ActorKind, AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.billing_engine import Month
from mypage.contracts.models import Contract
from mypage.contracts.services import contact_address
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.jobs import JobState, job_enqueue_many, job_requeue
from mypage.notifications.services import mail_enqueue
from mypage.payments.models import CardStatus, PaymentMethod

from .charges import ChargeStatus, StatementCharge
from .models import MonthClose, Statement, month_start

DEFAULT_CHUNK = 1000
#: The Django permission a member of staff needs for 再実行 of a charge that kept failing.
STAFF_MAY_REQUEUE = "billing.requeue_statementcharge"


class MonthNotClosedError(ValueError):
    """Charges are made only for a month whose close has finished."""


@dataclass
class ChargeRun:
    month: Month
    queued: int = 0  # charges given to the jobs worker
    no_card: int = 0  # statements marked 別途お支払い
    existing: int = 0  # statements that already had their charge (an earlier run)


def idempotency_key(statement: Statement) -> str:
    """The one key every attempt at this statement's charge sends the gateway."""
    return f"statement-{statement.customer_number}-{statement.month:%Y%m}"


def _cards(contract_ids: Iterable[int]) -> dict[int, PaymentMethod]:
    return {
        method.contract_id: method
        for method in PaymentMethod.objects.filter(
            contract_id__in=list(contract_ids), status=CardStatus.ACTIVE
        )
    }


def charges_make(*, month: Month, chunk: int = DEFAULT_CHUNK, today: dt.date | None = None) -> ChargeRun:
    """Make the charge of every issued statement of ``month`` that has none yet (see the module).
    Raises ``MonthNotClosedError`` unless the month's close has finished."""
    first = month_start(month)
    if not MonthClose.objects.filter(month=first, finished_at__isnull=False).exists():
        raise MonthNotClosedError(f"the close of {month} has not finished: run close_month {month} first")
    today = today or clock.today()
    run = ChargeRun(month=month)
    run.existing = StatementCharge.objects.filter(month=first).count()
    after = 0
    while True:
        with transaction.atomic():
            # Two runs take turns chunk by chunk; each chunk reads what the other already made.
            MonthClose.objects.select_for_update().filter(month=first).first()
            statements = list(
                Statement.objects.filter(month=first, total__gt=0, pk__gt=after, charge__isnull=True)
                .order_by("pk")
                .only("pk", "contract_id", "month", "customer_number", "total")[:chunk]
            )
            if not statements:
                break
            after = statements[-1].pk
            cards = _cards(s.contract_id for s in statements)
            to_charge: list[StatementCharge] = []
            no_card: list[StatementCharge] = []
            for statement in statements:
                card = cards.get(statement.contract_id)
                charge = StatementCharge(
                    statement_id=statement.pk,
                    contract_id=statement.contract_id,
                    month=first,
                    amount=statement.total,
                    idempotency_key=idempotency_key(statement),
                )
                if card is not None and card.usable_on(today.year, today.month):
                    charge.gateway_card = card.gateway_card
                    charge.card_label = f"{card.get_brand_display()} {card.masked_number}"[:40]
                    to_charge.append(charge)
                else:
                    now = clock.now()
                    charge.status = ChargeStatus.NO_CARD
                    charge.state = JobState.DONE
                    charge.created_at = now
                    charge.finished_at = now
                    no_card.append(charge)
            job_enqueue_many(to_charge)  # one task per StatementCharge.batch_size charges
            StatementCharge.objects.bulk_create(no_card)
            run.queued += len(to_charge)
            run.no_card += len(no_card)
    return run


def charge_declined_notice(charge: StatementCharge) -> str:
    """The holder is told that this month's card payment was declined (in the record transaction)."""
    contract = Contract.objects.select_related("plan__brand").get(pk=charge.contract_id)
    to = contact_address(contract)
    if to:
        mail_enqueue(
            kind="charge_declined",
            to=to,
            brand=contract.brand,
            contract=contract,
            context={
                "holder_name": contract.holder_name,
                "month": charge.month,
                "amount": charge.amount,
                "card_label": charge.card_label,
                "reason": charge.decline_message,
            },
        )
    return to


def charges_requeue(*, ids: Iterable[int], actor: Actor) -> int:
    """Staff's 再実行 of charges that kept failing (決済エラー): queued again, audited. The same
    idempotency key goes with them, so a charge the gateway did make is not made twice."""
    if not (actor.kind is ActorKind.SYSTEM or actor.may(STAFF_MAY_REQUEUE)):
        raise Refused.page(_("この操作を行う権限がありません。"))

    def again(charge: StatementCharge) -> None:
        charge.status = ChargeStatus.PENDING
        charge.save(update_fields=["status"])
        audit_change(
            actor,
            AuditAction.CHARGE_REQUEUE,
            target=charge.idempotency_key,
            details={"charge": charge.pk, "last_error": charge.last_error},
        )

    return len(job_requeue(StatementCharge, ids=ids, on_requeue=again))
