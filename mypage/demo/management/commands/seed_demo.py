from typing import Any

from django.core.management.base import BaseCommand

from mypage.demo.services import DEMO_CONTRACTS, demo_seed


class Command(BaseCommand):
    help = "Load the demo contracts of SPEC §13 (idempotent: existing ones are left as they are)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_seed()
        for demo in DEMO_CONTRACTS:
            state = "created" if demo.customer_number in created else "already present"
            self.stdout.write(f"{demo.customer_number} ({demo.plan_code}): {state}")
