from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "mypage.notifications"
    verbose_name = "通知メール"
