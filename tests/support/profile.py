"""What the F-PROFILE tests type and pass (issue 4): the holder's profile input, the actor, and
reading and setting the demo contract 90000000000000's profile."""

from __future__ import annotations

from mypage.audit.services import Actor
from mypage.contracts import rules
from mypage.contracts.models import Contract

CUSTOMER = "90000000000000"
FORM = {
    "occupation": "employee",
    "household_size": "2",
    "phone": "012-345-6789",
    "fax": "",
    "mobile": "090-1234-5678",
    "contact_email": "arteri-an@keitai-address.ne.jp",
}
ACTOR = Actor(kind="holder", name=CUSTOMER, customer_number=CUSTOMER, ip="127.0.0.1")


def contract() -> Contract:
    return Contract.objects.get(customer_number=CUSTOMER)


def snapshot() -> dict[str, object]:
    """The profile's fields and what the page shows read-only: what a refused change leaves."""
    c = contract()
    return {f: getattr(c, f) for f in (*rules.PROFILE_FIELDS, "family_name", "given_name", "birth_date")}


def set_contract(**values: object) -> None:
    Contract.objects.filter(customer_number=CUSTOMER).update(**values)
