from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "mypage.calls"
    verbose_name = "通話明細"
