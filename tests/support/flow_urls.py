"""The URL conf of ``tests/pages/flow/test_flow.py``: the project's, with the probe procedure in
the portal."""

from django.urls import include, path

from config.urls import urlpatterns as project
from mypage.portal.urls import urlpatterns as portal
from tests.support.flow_probe import PROBE

urlpatterns = [
    path("", include(([*portal, *PROBE.urls("probe/")], "portal"))),
    *(p for p in project if getattr(p, "namespace", None) != "portal"),
]
