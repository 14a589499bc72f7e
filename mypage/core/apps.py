from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mypage.core"
    verbose_name = "ブランド・プラン・商品"

    def ready(self) -> None:
        from .outside import install_socket_guard

        install_socket_guard()
