"""Shared fixtures: the corpus, a CLI runner, and a guard that keeps every test on this machine."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import values

from roku_feed import metrics
from roku_feed.cli import cli
from roku_feed.web import create_app

TESTS = Path(__file__).parent
CORPUS = TESTS / "corpus"
REPO = TESTS.parent
REAL_FEEDS = REPO.parent / "shared" / "reference" / "real-feeds"
sys.path.insert(0, str(CORPUS))  # tests import the corpus table, tests/corpus/variants.py


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection that would leave 127.0.0.1: the test suite runs offline."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not _is_loopback(host):
            raise OSError(f"test tried to reach {host}: tests must stay on 127.0.0.1")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _fresh_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test counts from zero, in this process only, whatever the environment says."""
    monkeypatch.setenv(metrics.ENV, "")  # so that teardown restores whatever was there before
    monkeypatch.delenv(metrics.ENV)
    monkeypatch.setattr(values, "ValueClass", values.MutexValue)
    monkeypatch.setattr(metrics, "_state", None)


@pytest.fixture
def run_cli():
    """Run `roku-feed ARGS...` in-process; returns click's Result (stdout, stderr, exit_code)."""
    runner = CliRunner()

    def run(*args: str, input: bytes | str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


def load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


class _Handler(BaseHTTPRequestHandler):
    """Serves whatever the test registered for a path: (status, headers, body or callable)."""

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        if route is None:
            self.send_error(404, "Not Found")
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)  # the client may give up early, as the code under test should

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalServer:
    """A real HTTP server on 127.0.0.1 for tests that fetch URLs; routes are set per test."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes = {}  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(
        self, path: str, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> str:
        def respond(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            if "Content-Length" not in (headers or {}):
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        self.httpd.routes[path] = respond  # type: ignore[attr-defined]
        return self.url(path)

    def handler(self, path: str, respond: Callable[[BaseHTTPRequestHandler], None]) -> str:
        self.httpd.routes[path] = respond  # type: ignore[attr-defined]
        return self.url(path)

    def slow(self, path: str, seconds: float) -> str:
        """A route that answers only after `seconds`: for timeout tests."""

        def respond(handler: BaseHTTPRequestHandler) -> None:
            time.sleep(seconds)
            handler.send_response(200)
            handler.end_headers()

        return self.handler(path, respond)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    yield srv
    srv.close()


# --- shared article and app helpers ----------------------------------------------------


def article(n: int, **overrides) -> dict:
    data = {
        "url": f"https://www.presstv.example/Detail/2026/11/20/{n}/story-{n}",
        "title": f"Story {n}",
        "section": "News / Iran",
        "summary": f"Summary {n}.",
        "body": f"<p>Body of story {n}, longer than its summary.</p>",
        "published": f"2026-11-{10 + n:02d}T09:00:00+03:30",
        "image": {"url": f"https://media.presstv.example/img/{n}.jpg"},
        "video": {"url": f"https://media.presstv.example/video/{n}.m3u8", "duration": 90},
    }
    data.update(overrides)
    return data


TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def write_content(folder: Path) -> Path:
    """Five publishable articles as JSON files."""
    folder.mkdir()
    for n in range(1, 6):
        (folder / f"{n}.json").write_text(json.dumps(article(n)), encoding="utf-8")
    return folder


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return write_content(tmp_path / "content")


def make_app(tmp_path: Path, content: Path | None, **config):
    settings = {
        "TESTING": True,
        "DATA_DIR": str(tmp_path / "var"),
        "REFRESH_ON_START": False,
        "CONTENT_DIRS": [str(content)] if content else [],
        "API_TOKEN": TOKEN,
        **config,
    }
    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path, content: Path):
    app = make_app(tmp_path, content)
    record = app.extensions["roku_feed"].refresh()
    assert record.ok and record.live, record.message
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def stderr_of(command: list[str], *, tty: bool) -> str:
    """Run a command with stderr on a pseudo-terminal (as a person sees it) or on a pipe."""
    import os
    import pty
    import subprocess

    if not tty:
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False).stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the other side closed
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")
