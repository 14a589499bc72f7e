from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "mypage.demo"
    verbose_name = "デモデータ"
