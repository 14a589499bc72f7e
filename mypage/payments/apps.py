from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "mypage.payments"
    verbose_name = "お支払い方法"
