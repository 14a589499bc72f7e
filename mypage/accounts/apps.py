from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mypage.accounts"
    verbose_name = "アカウントID"
