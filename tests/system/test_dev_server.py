"""The development server (``manage.py runserver``, as scripts/serve starts it) serves /static/ as
production does, through WhiteNoise: a path that climbs out of /static/ is a 404, never the 500 of
Django's own static handler (``SuspiciousFileOperation``), and a real static file is still served."""

from __future__ import annotations

import pytest

from tests.support.servers import Browser, accepts, free_port, wait_until
from tests.support.subprocess import Project, stop

TRAVERSALS = [
    "/static/../config/settings.py",
    "/static/portal/../../config/settings.py",
    "/static/..%2fconfig/settings.py",
    "/static/%2e%2e/config/settings.py",
    "/static/portal/..%2f..%2f..%2fconfig/settings.py",
    "/static/portal/%2e%2e/%2e%2e/%2e%2e/manage.py",
    "/static/..\\config\\settings.py",
    "/static//etc/passwd",
    "/static/portal/mypage.css%00.py",
]


@pytest.mark.django_db
def test_runserver_answers_traversals_with_404_and_serves_static_files(tmp_path):
    project = Project(tmp_path, "devserver.sqlite3", DEBUG="1")
    port = free_port()
    server = project.start_logged("runserver", f"127.0.0.1:{port}", "--noreload")
    try:
        wait_until(lambda: accepts(port) or server.poll() is not None, timeout=60, what="runserver")
        assert server.poll() is None, project.log_text()
        browser = Browser(port, host="127.0.0.1")
        for path in TRAVERSALS:
            status, _headers, _body = browser.get(path)
            assert status in (400, 404), (path, status, project.log_text())
        status, headers, body = browser.get("/static/portal/mypage.css")
        assert status == 200 and headers["content-type"].startswith("text/css") and "{" in body
    finally:
        stop(server)
    assert "Traceback" not in project.log_text() and " 500 " not in project.log_text()
