from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "mypage.payments"
    verbose_name = "お支払い方法"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the deploy checks
