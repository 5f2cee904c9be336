"""deploy/nginx/roku-feed.conf for real: nginx on 127.0.0.1 serving the publisher's static
directory, in front of a real `roku-feed serve` that publishes into it while it is read."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest
from conftest import REPO

from roku_feed.snapshots import Document

ROKU_FEED = Path(sys.executable).with_name("roku-feed")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian puts it in /usr/sbin
SITE = REPO / "deploy" / "nginx" / "roku-feed.conf"
TOKEN = "nginx-integration-token"
JSON_TYPE = "application/json; charset=utf-8"
CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=600"
NGINX_ETAG = re.compile(r'^"[0-9a-f]+-[0-9a-f]+"$')  # nginx's: mtime-size; the app's is a content hash
APP_ETAG = re.compile(r'^"[0-9a-f]{32}"$')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def fetch(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    body: bytes | None = None,
) -> Reply:
    """One request with exactly these headers; the body as sent (http.client never decompresses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for(
    check: t.Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (ConnectionError, OSError, http.client.HTTPException):
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what}: process exited: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    raise AssertionError(f"{what}: not in {timeout} s: {log.read_text(errors='replace')[-2000:]}")


def settle(path: Path, still: float = 1.0, timeout: float = 10.0) -> None:
    """Wait until `path` has not been replaced for `still` seconds."""
    deadline = time.monotonic() + timeout
    last, since = path.stat().st_ino, time.monotonic()
    while time.monotonic() - since < still:
        assert time.monotonic() < deadline, f"{path} keeps being replaced"
        time.sleep(0.02)
        ino = path.stat().st_ino
        if ino != last:
            last, since = ino, time.monotonic()


def start_app(tmp: Path, port: int, static_dir: Path, content: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ROKU_FEED_API_TOKEN": TOKEN, "ROKU_FEED_STATIC_DIR": str(static_dir)}
    with open(tmp / "app.log", "wb") as log:
        return subprocess.Popen(
            [
                str(ROKU_FEED),
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--content",
                str(content),
                "--channel",
                str(REPO / "sample_content" / "channel.json"),
                "--data-dir",
                str(tmp / "var"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def nginx_conf(tmp: Path, port: int, static_dir: Path, app_port: int) -> Path:
    """The shipped site file with its placeholders filled, inside a minimal top-level config."""
    site = SITE.read_text(encoding="utf-8")
    for key, value in {
        "LISTEN": f"127.0.0.1:{port}",
        "SERVER_NAME": "localhost",
        "STATIC_DIR": str(static_dir),
        "APP_ADDR": f"127.0.0.1:{app_port}",
    }.items():
        assert f"@{key}@" in site, f"placeholder @{key}@ is gone from {SITE}"
        site = site.replace(f"@{key}@", value)
    assert not re.search(r"@[A-Z_]+@", site), "an unknown placeholder is left"
    (tmp / "roku-feed.conf").write_text(site, encoding="utf-8")
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / "nginx-temp" / name).mkdir(parents=True, exist_ok=True)
    # As root, nginx would run its workers as `nobody`, who can neither enter pytest's 0700
    # temp directories nor read the publisher's files (mode 0600, see write_atomic), so the
    # workers stay root here. Not as root, nginx ignores `user` (with a warning): leave it out.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
{user}
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
lock_file {tmp}/nginx.lock;
error_log {tmp}/nginx-error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/nginx-temp/client_body;
    proxy_temp_path {tmp}/nginx-temp/proxy;
    fastcgi_temp_path {tmp}/nginx-temp/fastcgi;
    uwsgi_temp_path {tmp}/nginx-temp/uwsgi;
    scgi_temp_path {tmp}/nginx-temp/scgi;
    include {tmp}/roku-feed.conf;
}}
""",
        encoding="utf-8",
    )
    return conf


def start_nginx(tmp: Path, conf: Path) -> subprocess.Popen[bytes]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed: run scripts/system-deps.sh (make test does)")
    command = [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    with open(tmp / "nginx.out", "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)


def published_feeds(data_dir: Path) -> dict[bytes, bytes]:
    """Every stored snapshot's feed.json bytes -> their gzip twin, as the publisher makes it."""
    bodies = [p.read_bytes() for p in (data_dir / "snapshots" / "snapshots").glob("*/feed.json")]
    return {body: Document.of(body).gzipped for body in bodies}


def current_snapshot(data_dir: Path) -> Path:
    ident = (data_dir / "snapshots" / "current").read_text(encoding="utf-8").strip()
    return data_dir / "snapshots" / "snapshots" / ident


def check_feed_headers(reply: Reply, *, gzipped: bool) -> None:
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["Content-Type"] == JSON_TYPE
    assert reply.headers["Cache-Control"] == CACHE_CONTROL
    assert reply.headers.get_all("Vary") == ["Accept-Encoding"]
    assert reply.headers.get("Content-Encoding") == ("gzip" if gzipped else None)
    assert NGINX_ETAG.match(reply.headers["ETag"]), reply.headers["ETag"]  # the file, not the app
    assert reply.headers["Last-Modified"].endswith(" GMT")
    assert int(reply.headers["Content-Length"]) == len(reply.body)


def test_nginx_serves_the_static_snapshot_in_front_of_the_app(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "sample_content" / "articles", content)
    public, data_dir = tmp_path / "public", tmp_path / "var"
    app_port, port = free_port(), free_port()
    app = start_app(tmp_path, app_port, public, content)
    nginx: subprocess.Popen[bytes] | None = None
    try:
        nginx = start_nginx(tmp_path, nginx_conf(tmp_path, port, public, app_port))
        app_log, nginx_log = tmp_path / "app.log", tmp_path / "nginx-error.log"
        wait_for(lambda: fetch(app_port, "/readyz").status == 200, "app ready", app, app_log)
        # `current` is switched before the static files are written: wait for them too
        wait_for(
            lambda: (
                (public / "feed.json").exists()
                and (public / "feed.json").read_bytes() == fetch(app_port, "/feed.json").body
            ),
            "static feed written",
            app,
            app_log,
        )
        # The publisher's start refresh may rewrite the files once more: wait until the static
        # directory has been still for a second, so nginx's ETag is the final one.
        settle(public / "feed.json")
        wait_for(lambda: fetch(port, "/healthz").status == 200, "nginx ready", nginx, nginx_log)

        def app_serves(expected: bytes) -> None:
            wait_for(
                lambda: all(fetch(app_port, "/feed.json").body == expected for _ in range(8)),
                "both app workers serve the snapshot",
                app,
                app_log,
            )

        # -- the body is the live snapshot's, byte for byte, plain and precompressed ----------
        live = current_snapshot(data_dir)
        body = (live / "feed.json").read_bytes()
        plain = fetch(port, "/feed.json")
        check_feed_headers(plain, gzipped=False)
        assert plain.body == body
        # every app worker serves the publish from its next request: check both
        app_serves(body)
        packed = fetch(port, "/feed.json", {"Accept-Encoding": "gzip, deflate, br"})
        check_feed_headers(packed, gzipped=True)
        assert packed.body == (public / "feed.json.gz").read_bytes() == Document.of(body).gzipped
        assert gzip.decompress(packed.body) == body
        assert packed.headers["ETag"] != plain.headers["ETag"]  # two representations, two tags
        refused = fetch(port, "/feed.json", {"Accept-Encoding": "gzip;q=0, identity"})
        assert refused.status == 200 and "Content-Encoding" not in refused.headers and refused.body == body

        search = fetch(port, "/search-feed.json")
        check_feed_headers(search, gzipped=False)
        assert search.body == (live / "search-feed.json").read_bytes()
        search_gz = fetch(port, "/search-feed.json", {"Accept-Encoding": "gzip"})
        check_feed_headers(search_gz, gzipped=True)
        assert gzip.decompress(search_gz.body) == search.body

        # -- revalidation: nginx's own validators give 304 -------------------------------------
        for headers in (
            {"If-None-Match": plain.headers["ETag"]},
            {"If-None-Match": f'"other", {plain.headers["ETag"]}'},
            {"If-None-Match": packed.headers["ETag"], "Accept-Encoding": "gzip"},
            {"If-Modified-Since": plain.headers["Last-Modified"]},
            {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},  # if_modified_since before
            {"If-None-Match": plain.headers["ETag"], "If-Modified-Since": plain.headers["Last-Modified"]},
        ):
            not_modified = fetch(port, "/feed.json", headers)
            assert not_modified.status == 304, headers
            assert not_modified.body == b""
            assert not_modified.headers["Cache-Control"] == CACHE_CONTROL
            assert not_modified.headers["ETag"] in (plain.headers["ETag"], packed.headers["ETag"])
        for headers in (
            {"If-None-Match": '"not-the-tag"'},
            {"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "gzip"},  # the twin's tag differs
            {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
        ):
            assert fetch(port, "/feed.json", headers).status == 200, headers

        # -- the app behind it: API, ops, pages ------------------------------------------------
        status = fetch(port, "/api/v1/status")
        assert status.status == 200 and status.headers["Content-Type"].startswith("application/json")
        assert json.loads(status.body)["live"]["id"] == live.name
        for path in ("/readyz", "/metrics", "/"):
            assert fetch(port, path).status == 200, path
        too_large = fetch(
            port,
            "/api/v1/validate",
            {"Content-Type": "application/json"},
            method="POST",
            body=b" " * (2 * 1024 * 1024 + 1),
        )
        assert too_large.status == 413
        assert too_large.headers["Content-Type"] == "application/problem+json"
        problem = json.loads(too_large.body)
        assert problem["status"] == 413
        assert problem["type"] == "https://roku-feed.dev/problems/request-entity-too-large"  # as the app's

        # -- nothing else under the static root is served ---------------------------------------
        (public / ".feed.json.leak.tmp").write_bytes(b"half a feed")
        for path in (
            "/feed.json.gz",
            "/search-feed.json.gz",
            "/.feed.json.leak.tmp",
            "/meta.json",
            "/x/feed.json",
        ):
            missing = fetch(port, path)
            assert missing.status == 404, path
            assert b"half a feed" not in missing.body and body[:100] not in missing.body

        # -- a publish while nginx serves: every body is one whole snapshot, old or new ---------
        seen: list[tuple[int, str | None, bytes]] = []
        stop = threading.Event()

        def poll(headers: dict[str, str]) -> None:
            while not stop.is_set():
                reply = fetch(port, "/feed.json", headers)
                seen.append((reply.status, reply.headers.get("Content-Encoding"), reply.body))

        pollers = [threading.Thread(target=poll, args=(h,)) for h in ({}, {"Accept-Encoding": "gzip"})]
        for thread in pollers:
            thread.start()
        try:
            article = json.loads(
                (content / "json" / "iran-shiraz-solar-plant.json").read_text(encoding="utf-8")
            )
            article.update(id="pushed-through-nginx", title="Pushed through nginx")
            pushed = fetch(
                port,
                "/api/v1/articles",
                {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
                method="POST",
                body=json.dumps(article).encode(),
            )
            assert pushed.status == 200, pushed.body
            assert json.loads(pushed.body)["build"]["live"] is True
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(
                b"Pushed through nginx" in (gzip.decompress(b) if enc else b) for _, enc, b in seen[-20:]
            ):
                time.sleep(0.02)
            time.sleep(0.3)  # and a little more after the switch
        finally:
            stop.set()
            for thread in pollers:
                thread.join()

        published = published_feeds(data_dir)
        new_body = (current_snapshot(data_dir) / "feed.json").read_bytes()
        assert new_body != body and b"Pushed through nginx" in new_body
        assert {body, new_body} <= published.keys()
        assert len(seen) > 50
        plain_bodies = [b for status, enc, b in seen if status == 200 and enc is None]
        gzip_bodies = [b for status, enc, b in seen if status == 200 and enc == "gzip"]
        assert len(plain_bodies) + len(gzip_bodies) == len(seen), {(s, e) for s, e, _ in seen}
        assert set(plain_bodies) <= published.keys()  # never a partial or mixed body
        assert set(gzip_bodies) <= set(published.values())
        assert plain_bodies[0] == body and plain_bodies[-1] == new_body
        assert gzip.decompress(gzip_bodies[0]) == body and gzip.decompress(gzip_bodies[-1]) == new_body
        assert fetch(port, "/feed.json").body == new_body
        app_serves(new_body)
        changed = fetch(port, "/feed.json", {"If-None-Match": plain.headers["ETag"]})
        assert changed.status == 200 and changed.body == new_body  # the old tag no longer matches

        # -- no static file (not published there yet): the app answers instead ------------------
        for name in ("search-feed.json", "search-feed.json.gz"):
            (public / name).unlink()
        fallback = fetch(port, "/search-feed.json")
        assert fallback.status == 200 and APP_ETAG.match(fallback.headers["ETag"])
        assert fallback.body == (current_snapshot(data_dir) / "search-feed.json").read_bytes()
    finally:
        if nginx is not None:
            stop_group(nginx)  # SIGTERM: fast shutdown of master and worker
        stop_group(app)
