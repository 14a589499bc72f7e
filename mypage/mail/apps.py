from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mypage.mail"
    verbose_name = "メールサービス"
