from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "mypage.billing"
    verbose_name = "請求"
