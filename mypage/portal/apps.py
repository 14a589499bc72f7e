from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "mypage.portal"
    verbose_name = "マイページ"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .middleware import stamp_login

        # Session bookkeeping, not business logic: every way of logging in starts the clocks.
        user_logged_in.connect(stamp_login, dispatch_uid="mypage-stamp-login")
