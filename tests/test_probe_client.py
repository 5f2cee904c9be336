"""Media probes' network side against a real local server: bounded, safe, concurrent and cached."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from roku_feed.probes.client import Prober, ProbeResult

MB = 1024 * 1024
BODY = bytes(range(256)) * (MB // 256)
LOCAL = frozenset({"127.0.0.1"})


def prober(**options) -> Prober:
    options.setdefault("allowed_hosts", LOCAL)
    options.setdefault("timeout", 2.0)
    return Prober(**options)


@pytest.fixture
def seen(server):
    """Record every request the server gets (method, path, headers); lets routes answer HEAD too."""
    requests: list[tuple[str, str, dict[str, str]]] = []
    base = server.httpd.RequestHandlerClass

    class Recording(base):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            requests.append((self.command, self.path, dict(self.headers)))
            super().do_GET()

        do_HEAD = do_GET

    server.httpd.RequestHandlerClass = Recording
    server.httpd.socket.listen(64)  # room for every concurrent connection the tests make
    return requests


def ranged(server, path: str, body: bytes = BODY) -> str:
    """A route that honours `Range: bytes=0-N` with a 206, as CDNs do."""

    def respond(handler) -> None:
        spec = handler.headers.get("Range", "")
        if spec.startswith("bytes=0-"):
            end = min(int(spec.removeprefix("bytes=0-")), len(body) - 1)
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes 0-{end}/{len(body)}")
            part = body[: end + 1]
        else:
            handler.send_response(200)
            part = body
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(len(part)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(part)

    return server.handler(path, respond)


def test_range_request_reads_only_the_head(server, seen) -> None:
    result = prober().probe(ranged(server, "/v.mp4"), max_bytes=4096)
    assert result.ok and result.error_kind is None and result.error is None
    assert (result.status, result.content_type, result.content_length) == (206, "video/mp4", MB)
    assert result.head == BODY[:4096] and result.redirects == 0
    (_, _, headers) = seen[0]
    assert headers["Range"] == "bytes=0-4095"
    assert headers["User-Agent"].startswith("roku-feed/")


def test_server_ignoring_range_is_cut_off(server, seen) -> None:
    url = server.route("/big.mp4", body=BODY, headers={"Content-Type": "video/mp4"})
    result = prober().probe(url, max_bytes=4096)
    assert result.ok and result.status == 200 and result.content_length == MB
    assert result.head == BODY[:4096]


def test_head_method_reads_headers_only(server, seen) -> None:
    result = prober().probe(ranged(server, "/v.mp4"), max_bytes=4096, method="HEAD")
    assert result.ok and result.status == 200 and result.content_length == MB and result.head == b""
    assert seen[0][0] == "HEAD" and "Range" not in seen[0][2]


def test_endless_body_is_cut_not_hung(server) -> None:
    def endless(handler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length
        while True:
            handler.wfile.write(b"x" * 65536)

    started = time.monotonic()
    result = prober().probe(server.handler("/endless", endless), max_bytes=100_000)
    assert result.ok and result.head == b"x" * 100_000 and result.content_length is None
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors(server, status: int) -> None:
    result = prober().probe(server.route("/x", status=status, body=b"oops"), max_bytes=10)
    assert not result.ok and result.error_kind == "http" and result.status == status
    assert result.error.startswith(f"HTTP {status}") and result.head == b""


def test_redirect_chain_is_followed_and_counted(server) -> None:
    target = ranged(server, "/final.mp4")
    server.route("/a", status=302, headers={"Location": "/b"})
    server.route("/b", status=301, headers={"Location": target})
    result = prober().probe(server.url("/a"), max_bytes=16)
    assert result.ok and result.redirects == 2 and result.final_url == target
    assert result.url == server.url("/a") and result.head == BODY[:16]


def test_redirect_loop_and_too_many_redirects(server) -> None:
    server.route("/loop", status=302, headers={"Location": "/loop"})
    loop = prober().probe(server.url("/loop"), max_bytes=16)
    assert not loop.ok and loop.error_kind == "redirects" and "loop" in loop.error
    for n in range(4):
        server.route(f"/hop{n}", status=302, headers={"Location": f"/hop{n + 1}"})
    ranged(server, "/hop4")
    assert prober(max_redirects=4).probe(server.url("/hop0"), max_bytes=1).redirects == 4
    too_many = prober(max_redirects=3).probe(server.url("/hop0"), max_bytes=1)
    assert too_many.error_kind == "redirects" and "more than 3 redirects" in too_many.error


def test_redirect_to_another_scheme_is_refused(server) -> None:
    server.route("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    result = prober().probe(server.url("/to-file"), max_bytes=16)
    assert result.error_kind == "refused" and "only http and https" in result.error
    assert result.final_url == "file:///etc/passwd" and result.redirects == 1


def test_slow_server_times_out(server) -> None:
    started = time.monotonic()
    result = prober(timeout=0.5).probe(server.slow("/slow", 2), max_bytes=16)
    assert result.error_kind == "timeout" and not result.ok
    assert time.monotonic() - started < 1.0


def test_trickling_body_is_bounded_by_the_total_timeout(server) -> None:
    def trickle(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.05)

    started = time.monotonic()
    result = prober(timeout=0.5).probe(server.handler("/trickle", trickle), max_bytes=1000)
    assert result.error_kind == "timeout" and result.status == 200
    assert time.monotonic() - started < 1.0


def test_a_stalled_read_ends_at_the_deadline(server) -> None:
    def stall(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.flush()
        time.sleep(0.4)
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(3)

    started = time.monotonic()
    result = prober(timeout=0.6).probe(server.handler("/stall", stall), max_bytes=1000)
    assert result.error_kind == "timeout"
    assert time.monotonic() - started < 0.85  # not 0.4 + a fresh 0.6 s read timeout


def test_connection_refused() -> None:
    result = prober().probe("http://127.0.0.1:9/v.mp4", max_bytes=16)
    assert result.error_kind == "connection" and result.status is None


def test_private_addresses_are_refused_without_connecting(server, monkeypatch) -> None:
    connects: list[object] = []
    real_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", lambda s, a: connects.append(a) or real_connect(s, a))
    local = prober(allowed_hosts=frozenset()).probe(server.route("/v.mp4", body=b"x"), max_bytes=1)
    assert local.error_kind == "refused" and "not a public address" in local.error
    intranet = prober().probe("http://10.0.0.1/v.mp4", max_bytes=1)
    assert intranet.error_kind == "refused" and intranet.status is None
    assert connects == []
    assert prober(allowed_hosts=frozenset(), allow_private=True).probe(local.url, max_bytes=1).ok


def test_bad_urls_are_refused_not_raised() -> None:
    for url in ("ftp://example.org/v.mp4", "not a url", "http://[::1/v.mp4", "http://u:p@example.org/"):
        assert prober().probe(url, max_bytes=1).error_kind == "refused", url


def test_tls_failure(server) -> None:
    url = server.route("/v.mp4", body=b"x").replace("http://", "https://")  # TLS to a plain server
    result = prober().probe(url, max_bytes=1)
    assert result.error_kind == "tls" and result.status is None


def test_unresolvable_host_is_a_dns_failure() -> None:
    result = prober().probe("http://no-such-host.invalid/v.mp4", max_bytes=16)
    assert result.error_kind == "dns" and result.status is None


def test_programming_errors_raise() -> None:
    with pytest.raises(ValueError, match="method"):
        prober().probe("http://127.0.0.1/", max_bytes=1, method="POST")
    with pytest.raises(ValueError, match="max_bytes"):
        prober().probe("http://127.0.0.1/", max_bytes=-1)
    with pytest.raises(ValueError, match="concurrency"):
        Prober(concurrency=0)


def test_cache_serves_repeats_and_smaller_heads(server, seen) -> None:
    url = ranged(server, "/v.mp4")
    probes = prober()
    first = probes.probe(url, max_bytes=4096)
    assert probes.probe(url, max_bytes=4096) == first
    smaller = probes.probe(url, max_bytes=100)
    assert smaller.head == BODY[:100] and smaller.status == 206
    assert probes.probe(url, max_bytes=0, method="HEAD").head == b""
    assert len(seen) == 1
    assert probes.probe(url, max_bytes=8192).head == BODY[:8192]  # a bigger head needs a new request
    assert len(seen) == 2
    probes.clear_cache()
    probes.probe(url, max_bytes=16)
    assert len(seen) == 3


def test_whole_small_body_serves_any_size(server, seen) -> None:
    url = server.route("/small.vtt", body=b"WEBVTT\n")
    probes = prober()
    assert probes.probe(url, max_bytes=4096).head == b"WEBVTT\n"
    assert probes.probe(url, max_bytes=1 * MB).head == b"WEBVTT\n"
    assert len(seen) == 1


def test_cache_expires_after_ttl(server, seen) -> None:
    url = ranged(server, "/v.mp4")
    probes = prober(cache_ttl=0.1)
    probes.probe(url, max_bytes=16)
    probes.probe(url, max_bytes=16)
    assert len(seen) == 1
    time.sleep(0.15)
    probes.probe(url, max_bytes=16)
    assert len(seen) == 2


def concurrency_gauge(server, path: str, seconds: float = 0.2):
    """A slow route that measures how many requests it serves at once."""
    gauge = {"now": 0, "max": 0}
    lock = threading.Lock()

    def respond(handler) -> None:
        with lock:
            gauge["now"] += 1
            gauge["max"] = max(gauge["max"], gauge["now"])
        time.sleep(seconds)
        with lock:
            gauge["now"] -= 1
        handler.send_response(200)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    server.handler(path, respond)
    return gauge


def test_probe_many_deduplicates_and_reports_each(server, seen) -> None:
    a, b = ranged(server, "/a.mp4"), ranged(server, "/b.jpg")
    done: list[ProbeResult] = []
    with prober() as probes:
        results = probes.probe_many([(a, 16), (b, 8), (a, 32), (b, 8)], on_done=done.append)
    assert set(results) == {a, b} and sorted(r.url for r in done) == sorted([a, b])
    assert results[a].head == BODY[:32] and results[b].head == BODY[:8]  # the largest ask wins
    assert len(seen) == 2


def test_probe_many_respects_per_host(server, seen) -> None:
    gauge = concurrency_gauge(server, "/slow")
    urls = [(server.url(f"/slow?n={n}"), 2) for n in range(8)]
    with prober(per_host=2, concurrency=8) as probes:
        results = probes.probe_many(urls)
    assert len(results) == 8 and all(r.ok for r in results.values())
    assert gauge["max"] == 2


def test_probe_many_runs_concurrently(server, seen) -> None:
    gauge = concurrency_gauge(server, "/slow")
    urls = [(server.url(f"/slow?n={n}"), 2) for n in range(32)]
    done: list[ProbeResult] = []
    started = time.monotonic()
    with prober(per_host=8, concurrency=8) as probes:
        results = probes.probe_many(urls, on_done=done.append)
    elapsed = time.monotonic() - started
    assert len(results) == 32 and len(done) == 32 and all(r.ok for r in results.values())
    assert gauge["max"] == 8 and elapsed < 32 * 0.2 / 3
