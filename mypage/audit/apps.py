from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mypage.audit"
    verbose_name = "監査ログ"
