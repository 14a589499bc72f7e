from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mypage.core"
    verbose_name = "ブランド・プラン・商品"
