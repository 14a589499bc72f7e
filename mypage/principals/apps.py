from django.apps import AppConfig


class PrincipalsConfig(AppConfig):
    name = "mypage.principals"
    verbose_name = "ログイン主体"
