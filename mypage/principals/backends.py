from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from .models import Principal

# What every logged-in page needs about the principal, loaded with it in one query.
PRINCIPAL_RELATED = (
    "contract__plan__brand",
    "contract__plan__mail_product",
    "account__contract__plan__brand",
    "account__contract__plan__mail_product",
)


class PrincipalBackend(ModelBackend):
    """Django's model backend (constant-time miss, is_active check), loading the principal's
    contract, plan and brand in the same query so that a page starts with one query, not four."""

    def get_user(self, user_id: Any) -> Principal | None:
        try:
            principal = Principal.objects.select_related(*PRINCIPAL_RELATED).get(pk=user_id)
        except Principal.DoesNotExist:
            return None
        return principal if self.user_can_authenticate(principal) else None
