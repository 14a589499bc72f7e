from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "mypage.subscriptions"
    verbose_name = "オプション契約"
