"""The project's URL conf plus the baseline page (benchmark settings only)."""

from django.urls import path

from config.urls import handler500
from config.urls import urlpatterns as project_urlpatterns

from . import views

urlpatterns = [
    *project_urlpatterns,
    path("bench/baseline/", views.baseline, name="bench_baseline"),
]

__all__ = ["handler500", "urlpatterns"]
