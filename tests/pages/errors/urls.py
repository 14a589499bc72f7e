"""The project's URL conf with pages that fail, for the error-page tests."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as project


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("could not connect to server")


urlpatterns = [path("test-boom/", boom), path("test-db-down/", database_down), *project]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
