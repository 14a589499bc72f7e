from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "mypage.subscriptions"
    verbose_name = "オプション契約"

    def ready(self) -> None:
        from mypage.accounts.services import register_retire_hook

        from .services import cancel_account_subscriptions

        # Deleting an account ID cancels its options in the same transaction (F-ACCT-DELETE).
        register_retire_hook(cancel_account_subscriptions)
