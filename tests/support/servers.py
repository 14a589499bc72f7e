"""Real servers beside a test, each of its own, on a free port, stopped by the test: the portal
(``runserver`` or gunicorn, through ``tests.support.subprocess``), a private Redis that the test can
kill or pause, and a TCP proxy in front of the shared PostgreSQL that the test can cut. Never the
shared Redis or PostgreSQL themselves: the rest of the suite and other engineers use them.

Every wait is bounded, so a broken server fails its test instead of hanging it."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.support.ports import free_port
from tests.support.subprocess import ROOT, Project

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 30.0  # seconds for a server to accept connections


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class RedisServer:
    """A ``redis-server`` of the test's own in ``directory``: ``kill`` (stopped: connections are
    refused), ``start`` again on the same port, ``pause``/``resume`` (SIGSTOP/SIGCONT: connections are
    accepted by the kernel and never answered, as a hung Redis)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: accepts(self.port), timeout=START_TIMEOUT, what=f"redis on {self.port}")
        return self

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process would not die of SIGTERM
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def command(self, *args: str) -> str:
        """One command through redis-py (e.g. ``dbsize``), answered within a second."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return str(client.execute_command(*args))
        finally:
            client.close()


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_port`` until ``cut()``: then every open connection is
    closed and new ones are refused (the database is gone), until ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                self._close(s)

    def _close(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._open)
        for s in sockets:
            self._close(s)

    def restore(self) -> None:
        if self._listener is None:
            self.start()

    stop = cut


class Browser:
    """A cookie-keeping HTTP client for one server, sending paths exactly as given (no ``..``
    folding), with a bounded wait for every answer."""

    def __init__(self, port: int, host: str = "spaaqs.localhost", timeout: float = 20.0) -> None:
        self.port = port
        self.host = host
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    Answer = tuple[int, dict[str, str], str]  # status, headers (lower-case names), body

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{self.host}:{self.port}{path}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    for morsel in SimpleCookie(value).values():
                        if morsel.value and morsel["max-age"] != "0":
                            self.cookies[morsel.key] = morsel.value
                        else:
                            self.cookies.pop(morsel.key, None)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            connection.close()

    def get(self, path: str) -> Browser.Answer:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> Browser.Answer:
        """GET ``path`` for its CSRF token, then POST ``fields`` with it."""
        status, _headers, page = self.get(path)
        assert status == 200, (status, page[:500])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, page[:500]
        return self.request("POST", path, {"csrfmiddlewaretoken": token.group(1), **fields})

    def log_in(self, customer_number: str, password: str) -> Browser.Answer:
        return self.post_form(
            "/login/", {"form": "customer", "c-customer_number": customer_number, "c-password": password}
        )

    def log_out(self) -> Browser.Answer:
        status, _headers, page = self.get("/overview/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and token is not None, (status, page[:300])
        return self.request("POST", "/logout/", {"csrfmiddlewaretoken": token.group(1)})


def start_portal(project: Project, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    """The portal under gunicorn (one sync worker, as production runs it, but one, so that what a
    test sees does not depend on which worker answers), with ``project``'s database and ``env``;
    its output to the project's logs. Returns the process and its port, once it answers."""
    port = free_port()
    log = project.tmp_path / f"gunicorn-{len(project.logs)}.log"
    project.logs.append(log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--worker-class", "sync", "--timeout", "60", "--no-control-socket"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **project.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: process.poll() is not None or answers(port), timeout=60, what="gunicorn")
    except AssertionError:
        terminate(process)
        raise AssertionError(project.log_text()) from None
    assert process.poll() is None, project.log_text()
    return process, port


def answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/static/portal/favicon.svg", headers={"Host": "127.0.0.1"})
        return connection.getresponse().status == 200
    except OSError:
        return False


def terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop a server: SIGTERM (gunicorn stops its workers), SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
