from django.apps import AppConfig


class PrincipalsConfig(AppConfig):
    name = "mypage.principals"
    verbose_name = "ログイン主体"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from .sessions import session_closed, session_opened

        user_logged_in.connect(session_opened, dispatch_uid="mypage-session-opened")
        user_logged_out.connect(session_closed, dispatch_uid="mypage-session-closed")
