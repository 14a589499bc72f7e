"""``manage.py check --deploy``: a production portal must not talk to the sandbox gateway's test
keys, nor to a gateway over plain HTTP (the card page loads the gateway's script from there)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

SANDBOX_KEYS = {"pk_test_sandbox", "sk_test_sandbox"}


@register(Tags.security, deploy=True)
def gateway_for_production(app_configs: Any, **kwargs: Any) -> list[Warning]:
    config = settings.PAYMENT_GATEWAY
    problems: list[Warning] = []
    if {str(config.get("PUBLISHABLE_KEY")), str(config.get("SECRET_KEY"))} & SANDBOX_KEYS:
        problems.append(
            Warning(
                "The payment gateway uses the sandbox's published test keys.",
                hint="Set GATEWAY_PUBLISHABLE_KEY and GATEWAY_SECRET_KEY to the gateway's own keys.",
                id="payments.W001",
            )
        )
    for name in ("API_URL", "PUBLIC_URL"):
        if not str(config.get(name, "")).startswith("https://"):
            problems.append(
                Warning(
                    f"PAYMENT_GATEWAY[{name!r}] is not an https:// URL.",
                    hint=f"Set GATEWAY_{name} to the gateway's https origin.",
                    id="payments.W002",
                )
            )
    return problems
