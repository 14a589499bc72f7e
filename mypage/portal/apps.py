from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "mypage.portal"
    verbose_name = "マイページ"
