from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "mypage.contracts"
    verbose_name = "ご契約"
