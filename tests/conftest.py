"""Shared fixtures: the corpus, a CLI runner, and a guard that keeps every test on this machine."""

from __future__ import annotations

import contextlib
import errno
import gzip
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import typing as t
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings
from prometheus_client import values

from roku_feed import activity, metrics
from roku_feed.channel import load_channel
from roku_feed.cli import cli
from roku_feed.publisher import Publisher, PublisherSettings
from roku_feed.web import create_app
from roku_feed.web.config import load_config

# Property tests draw the same examples on every run (`make test` must not pass 9 runs in 10);
# `make fuzz` runs them with fresh random examples: HYPOTHESIS_PROFILE=fuzz.
settings.register_profile("test", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "test"))

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
    monkeypatch.setattr(activity, "_recorder", None)


@pytest.fixture
def run_cli():
    """Run `roku-feed ARGS...` in-process; returns click's Result (stdout, stderr, exit_code)."""
    runner = CliRunner()

    def run(*args: str, input: bytes | str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


def load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def many_warnings_feed(items: int) -> dict[str, t.Any]:
    """Items with the deviations of Roku's samples (Z offsets, no rating, MP4 without bitrate), and
    now and then others: http thumbnails, markup, a duplicate id, series with episodes."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    videos, series = [], []
    for i in range(items):
        added = (start + timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        item: dict[str, t.Any] = {
            "id": f"clip-{i}" if i % 500 != 499 else "clip-0",
            "title": f"Report {i}" if i % 97 else f"Report <b>{i}</b>",
            "shortDescription": f"Short text of report {i}.",
            "thumbnail": f"{'http' if i % 13 == 0 else 'https'}://img.example/{i}.jpg",
            "releaseDate": "2026-11-01",
            "genres": ["news"],
            "content": {
                "dateAdded": added,
                "duration": 60 + i % 300,
                "language": "en",
                "videos": [{"url": f"https://media.example/{i}.mp4", "quality": "HD", "videoType": "MP4"}],
            },
        }
        videos.append(item)
        if i % 250 == 0:
            episode = {**item, "id": f"episode-{i}", "episodeNumber": 1}
            series.append(
                {
                    "id": f"series-{i}",
                    "title": f"Series {i}",
                    "shortDescription": "A series.",
                    "thumbnail": f"https://img.example/s{i}.jpg",
                    "releaseDate": "2026-11-01",
                    "genres": ["news"],
                    "seasons": [{"seasonNumber": 1, "episodes": [episode, {**episode, "id": f"e2-{i}"}]}],
                }
            )
    return {
        "providerName": "Many Warnings TV",
        "lastUpdated": "2026-11-24T10:00:00Z",
        "language": "en",
        "shortFormVideos": videos,
        "series": series,
        "playlists": [{"name": "top", "itemIds": ["clip-1", "nobody", "episode-0"]}],
        "categories": [{"name": "Top", "playlistName": "top", "order": "manual"}],
    }


class _Handler(BaseHTTPRequestHandler):
    """Serves whatever the test registered for a path: (status, headers, body or callable)."""

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        route = self.server.routes.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        if route is None:
            self.send_error(404, "Not Found")
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)  # the client may give up early, as the code under test should

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    address_family = socket.AF_INET


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class LocalServer:
    """A real HTTP server on 127.0.0.1 (or another loopback address, "::1" included) for tests
    that fetch URLs; routes are set per test, and `seen` records (path, Host header) of each GET."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        kind = _Server6 if ":" in host else _Server
        self.httpd = kind((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.seen = self.seen = []  # type: ignore[attr-defined]
        self.httpd.routes = {}  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

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

    def trickle(self, path: str, seconds: float = 60.0) -> str:
        """A route that sends its status line and headers one byte at a time, over `seconds`:
        a socket timeout alone never fires on it, since every byte restarts it."""
        head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 1200 + b"\r\n\r\n"

        def respond(handler: BaseHTTPRequestHandler) -> None:
            for byte in head:
                handler.wfile.write(bytes([byte]))  # raises once the client has hung up
                time.sleep(seconds / len(head))

        return self.handler(path, respond)

    def bomb(self, path: str, encoding: str, inflated: int = 64 * 1024 * 1024) -> str:
        """A route whose small `encoding` ("gzip" or "deflate") body inflates to `inflated` zeros."""
        compress = {"gzip": gzip.compress, "deflate": zlib.compress}[encoding]
        body = compress(bytes(inflated))
        return self.route(path, body=body, headers={"Content-Encoding": encoding})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    yield srv
    srv.close()


class Names:
    """A resolver for names of the tests' own (the `resolve` seam of roku_feed.net): each name
    answers its lists of addresses in turn, the last from then on; every lookup is recorded."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = {name: list(each) for name, each in answers.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return queue.pop(0) if len(queue) > 1 else queue[0]


# Documents that declare entities: one that expands a few bytes into a billion ("billion
# laughs"), one that would read a local file into the feed.
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    + b"<item><guid>g-1</guid><title>&lol9;</title></item></channel></rss>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<rss version="2.0"><channel><title>T</title>'
    b"<item><guid>g-1</guid><title>&xxe;</title></item></channel></rss>"
)


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
    return embedded_app(settings)


def embedded_app(settings: dict):
    """The web app with an in-process publisher as its writer (`app.extensions["publisher"]`)."""
    loaded = load_config(settings)
    publisher = Publisher(PublisherSettings.from_config(loaded), load_channel(loaded["CHANNEL_FILE"]))
    app = create_app(settings, writer=publisher)
    app.extensions["publisher"] = publisher
    return app


@pytest.fixture
def app(tmp_path: Path, content: Path):
    app = make_app(tmp_path, content)
    record = app.extensions["publisher"].refresh()
    assert record.ok and record.live, record.message
    return app


@pytest.fixture
def client(app):
    return app.test_client()


# --- the real service: `roku-feed serve` as a process group on 127.0.0.1 ----------------------

ROKU_FEED = Path(sys.executable).with_name("roku-feed")
SERVE_TOKEN = "integration-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_get(url: str, **kwargs: object):
    """One GET on a new connection (so the kernel may hand it to any worker)."""
    import requests

    with requests.Session() as session:
        return session.get(url, timeout=10, **kwargs)


class Service:
    """`roku-feed serve` (publisher + granian workers), its own process group, stopped by `stop()`."""

    def __init__(
        self,
        data_dir: Path,
        content: Path | None,
        *,
        workers: int = 2,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        import os
        import subprocess

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.workers = workers
        self.on_postgres = bool((env or {}).get("ROKU_FEED_DATABASE_URL"))
        full_env = {
            **os.environ,
            "ROKU_FEED_API_TOKEN": SERVE_TOKEN,
            "ROKU_FEED_ALLOW_PRIVATE_URLS": "true",
            **(env or {}),
        }
        command = [str(ROKU_FEED), *(args or ("serve",)), "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(workers), "--data-dir", str(data_dir)]
        command += ["--channel", str(REPO / "sample_content" / "channel.json")]
        if content is not None:
            command += ["--content", str(content)]
        self.log = data_dir.parent / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                command, env=full_env, stdout=out, stderr=out, start_new_session=True
            )

    def url(self, path: str) -> str:
        return self.base + path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, check: Callable[[], object], what: str, timeout: float = 30.0) -> object:
        """Poll `check` until it returns something truthy; fail with the log if the service died."""
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"service exited ({self.proc.returncode}) while waiting for {what}:\n"
                    + self.log_text()[-3000:]
                )
            try:
                result = check()
            except requests.ConnectionError:
                result = None
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}:\n" + self.log_text()[-3000:])

    def wait_ready(self, timeout: float = 30.0):
        """The first /readyz 200; on PostgreSQL, once every worker serves one same snapshot too
        (each learns of the first publish by a NOTIFY of its own)."""
        ready = self.wait_until(
            lambda: (r := fresh_get(self.url("/readyz"))).status_code == 200 and r, "/readyz 200", timeout
        )
        if self.on_postgres:

            def one_snapshot() -> bool:
                served = {view.get("snapshot") for view in self.worker_views(timeout=timeout).values()}
                return len(served) == 1 and None not in served

            self.wait_until(one_snapshot, "every worker to serve the live snapshot", timeout)
        return ready

    def worker_views(self, count: int | None = None, timeout: float = 30.0) -> dict[int, dict]:
        """/readyz of every worker: {pid: body}, polling fresh connections until `count` workers answered."""
        want = count or self.workers
        seen: dict[int, dict] = {}

        def all_seen() -> bool:
            body = fresh_get(self.url("/readyz")).json()
            seen[body["worker"]] = body
            return len(seen) >= want

        self.wait_until(all_seen, f"{want} workers to answer /readyz", timeout)
        return seen

    def assert_serving(self, snapshot: str) -> dict[int, dict]:
        """Every worker serves `snapshot`: at once on disk (a write that returned is served), on
        PostgreSQL once the publish's NOTIFY has reached each worker. Their /readyz, by pid."""
        if not self.on_postgres:
            views = self.worker_views()
            assert {view["snapshot"] for view in views.values()} == {snapshot}, views
            return views
        views: dict[int, dict] = {}

        def loaded() -> bool:
            views.update(self.worker_views())
            return {view.get("snapshot") for view in views.values()} == {snapshot}

        self.wait_until(loaded, f"every worker to serve {snapshot}")
        return views

    def write(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: object):
        import requests

        headers = {"Authorization": f"Bearer {SERVE_TOKEN}", **(headers or {})}
        return requests.request(method, self.url(path), headers=headers, timeout=60, **kwargs)

    def stop(self) -> str:
        import os
        import signal
        import subprocess

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.log_text()


# --- a real small disk: a tmpfs the test mounts (the tests run as root, as CI does) -------------


class Disk:
    """A tmpfs mounted at `path`, made full and read-only for real (root ignores chmod)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def _mount(self, *options: str) -> None:
        done = subprocess.run(
            ["mount", *options, str(self.path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            pytest.fail(
                f"mount {' '.join(options)} {self.path} failed: {done.stderr.strip()} "
                "(the storage tests mount a tmpfs: run them as root, as CI does)"
            )

    def fill(self) -> None:
        """Take every free block: allocate what statvfs reports, then write until ENOSPC."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            free = os.statvfs(self.path)
            with contextlib.suppress(OSError):
                os.posix_fallocate(fd, 0, free.f_bavail * free.f_frsize)
            try:
                while os.write(fd, bytes(4096)):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
        assert os.statvfs(self.path).f_bavail == 0

    def free(self) -> None:
        self.filler.unlink()

    def read_only(self, on: bool = True) -> None:
        self._mount("-o", "remount,ro" if on else "remount,rw")

    def unmount(self) -> None:
        if subprocess.run(["umount", str(self.path)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=True)


@pytest.fixture
def tmpfs() -> Iterator[Callable[..., Disk]]:
    """`tmpfs(path, size="16m")` mounts a tmpfs at `path` (made if missing); all are unmounted after
    the test. A mount that fails fails the test: it is never skipped."""
    mounted: list[Disk] = []

    def mount(path: Path, size: str = "16m") -> Disk:
        path.mkdir(parents=True, exist_ok=True)
        disk = Disk(path)
        disk._mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs")
        mounted.append(disk)
        return disk

    yield mount
    for disk in reversed(mounted):
        disk.unmount()


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


def serving(running: Service) -> Iterator[Service]:
    """A fixture's body for a started service: wait until it is ready, yield it, stop it after."""
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session (tests/pg.py), started on first use."""
    from pg import PgServer

    server = PgServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return pg_server.database()


@pytest.fixture(params=["local", "postgres"])
def backend(request, tmp_path):
    """Each storage backend in turn (roku_feed.store): the same tests prove the same behaviour."""
    from roku_feed.store import open_store

    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    store = open_store(tmp_path / "data", url=url)
    yield store
    store.close()


@pytest.fixture(params=["local", "postgres"])
def backend_env(request) -> dict[str, str]:
    """The environment of a `roku-feed serve` on each storage backend in turn: the SQLite catalog
    and snapshot directory, then a fresh PostgreSQL database (the same tests, the same behaviour)."""
    return module_backend_env(request)


def content_service(
    factory: pytest.TempPathFactory, name: str, workers: int, env: dict[str, str] | None = None
) -> Iterator[Service]:
    """A real `roku-feed serve` on five articles, ready, for a module's tests; stopped after them."""
    root = factory.mktemp(name)
    yield from serving(Service(root / "var", write_content(root / "content"), workers=workers, env=env))


def module_backend_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """`backend_env` for a module-scoped fixture parametrized by ["local", "postgres"]."""
    if request.param == "local":
        return {}
    return {"ROKU_FEED_DATABASE_URL": request.getfixturevalue("pg_server").database()}


# --- headless Chromium (selenium + chromedriver) for the page tests ---------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: axe-core, installed into the venv by `make .venv/.installed` (npm), so tests run offline.
AXE = REPO / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
#: Where browser tests leave their screenshots: ROKU_FEED_TEST_ARTIFACTS, else build/test-artifacts.
ARTIFACTS = Path(os.environ.get("ROKU_FEED_TEST_ARTIFACTS") or REPO / "build" / "test-artifacts")


def chrome(profile: Path, *, other_hosts: int | None = None, width: int = 1280, height: int = 1500):
    """Headless Chromium that can reach 127.0.0.1 only: every other host name resolves to
    127.0.0.1:`other_hosts` (a local image server), or to nothing when None. Browser console
    messages are kept for the tests to read."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "run scripts/system-deps.sh (make test does)"
    )
    target = "~NOTFOUND" if other_hosts is None else f"127.0.0.1:{other_hosts}"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--host-resolver-rules=MAP * {target}, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.accept_insecure_certs = True  # the local image server's certificate names no real host
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Leave any alert open, so the test can see it instead of chromedriver dismissing it.
    options.unhandled_prompt_behavior = "ignore"
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(10)
    return driver


def driving(driver) -> Iterator[t.Any]:
    """A fixture's body for a browser from `chrome`: yield it, quit it after."""
    try:
        yield driver
    finally:
        driver.quit()


def tile_png(seed: str, size: tuple[int, int] = (320, 180)) -> bytes:
    """A 16:9 PNG with a colour band made from `seed`: thumbnails that differ, for screenshots."""
    import hashlib
    import io

    from PIL import Image, ImageDraw

    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    image = Image.new("RGB", size, (red, green, blue))
    ImageDraw.Draw(image).rectangle(
        (0, size[1] * 2 // 3, size[0], size[1]), fill=(255 - red, 255 - green, 90)
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class ImageServer:
    """HTTPS on 127.0.0.1 answering every GET with a PNG: the media hosts of the test content."""

    def __init__(self) -> None:
        import ssl

        import trustme

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = tile_png(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        trustme.CA().issue_cert("media.presstv.example", "media.example.org").configure_cert(context)
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # The handshake in each request's own thread: a browser's idle preconnect must not hold
        # up the accepting thread, and with it every other image.
        self.httpd.socket = context.wrap_socket(
            self.httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
