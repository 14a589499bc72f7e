"""``manage.py charge_month YYYY-MM``: charge each issued statement of a closed month to the
contract's card (F-PAY, issue 14 point 6). The charges are durable jobs that the jobs worker
(``manage.py jobs_worker``) makes through the payment gateway; ``--run`` makes them in this process
too, until none is due."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mypage.billing.charges import ChargeStatus, StatementCharge
from mypage.billing.collection import DEFAULT_CHUNK, MonthNotClosedError, charges_make
from mypage.billing.management.arguments import BAD_INPUT, month_argument
from mypage.billing.models import month_start


class Command(BaseCommand):
    help = (
        "Charge the total of every issued statement of a closed month, YYYY-MM, to the contract's card "
        "through the payment gateway (one durable job per statement, the statement as the idempotency "
        "key). Idempotent: statements that have their charge are skipped, so running it again, or "
        "twice at once, never charges twice. Contracts without a usable card are marked 別途お支払い."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("month", help="The month whose statements are charged, YYYY-MM.")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK,
            help=f"Statements per transaction ({DEFAULT_CHUNK}).",
        )
        parser.add_argument(
            "--run", action="store_true", help="Also make the charges in this process until none is due."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        month = month_argument(options["month"])
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1", returncode=BAD_INPUT)
        try:
            run = charges_make(month=month, chunk=options["chunk_size"])
        except MonthNotClosedError as error:
            raise CommandError(str(error), returncode=BAD_INPUT) from None
        self.stdout.write(
            f"{month}: {run.queued} charges queued, {run.no_card} without a usable card (別途お支払い), "
            f"{run.existing} made earlier"
        )
        if options["run"]:
            from django.core.management import call_command

            call_command("jobs_worker", batch=True, stdout=self.stderr)
            counts = {
                status.label: StatementCharge.objects.filter(month=month_start(month), status=status).count()
                for status in ChargeStatus
            }
            self.stdout.write(", ".join(f"{label} {n}" for label, n in counts.items()))
