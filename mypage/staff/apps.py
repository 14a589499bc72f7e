from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "mypage.staff"
    verbose_name = "バックオフィス"
