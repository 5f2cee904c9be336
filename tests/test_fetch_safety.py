"""Every fetch connects where it checked, within one deadline, and caps what bodies inflate to.

Names of the tests' own (`*.test`) are answered by a resolver handed to the code through its
`resolve` seam; servers listen on loopback addresses, one of which stands for "public" through
the client's `allowed_hosts` rule. Every path that fetches a URL is tested: validate-by-URL
(the API and check_feed), upstreams (read_url), media probes (Prober) and the client under them.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import CORPUS, LocalServer, Names, make_app

from roku_feed.checking import check_feed
from roku_feed.errors import FeedTooLargeError, FetchError, UnsafeURLError
from roku_feed.net import Client, fetch
from roku_feed.probes.client import Prober
from roku_feed.sources.remote import read_url

VALID = (CORPUS / "valid" / "minimal.json").read_bytes()
MB = 1024 * 1024
PUBLIC = frozenset({"127.0.0.1"})  # stands for a public address: the client lets it through


@pytest.fixture
def victim(server) -> Iterator[LocalServer]:
    """A server on 127.0.0.2, the same port as `server`: where a second lookup would lead."""
    other = LocalServer("127.0.0.2", server.port)
    other.route("/feed.json", body=b'{"stolen": true}')
    yield other
    other.close()


def test_a_name_is_looked_up_once_and_connected_to_as_checked(server, victim) -> None:
    server.route("/feed.json", body=VALID)
    names = Names({"feed.test": [["127.0.0.1"], ["127.0.0.2"]]})  # rebinds after its first answer
    url = f"http://feed.test:{server.port}/feed.json"
    with Client(allowed_hosts=PUBLIC, resolve=names) as client, client.open(url, timeout=5) as response:
        assert response.read(MB) == (VALID, True)
    assert names.lookups == ["feed.test"]
    assert server.seen == [("/feed.json", f"feed.test:{server.port}")]  # the name kept for Host
    assert victim.seen == []
    # The second answer, had it been asked for, is refused when it is the one checked.
    with Client(allowed_hosts=PUBLIC, resolve=names) as client, pytest.raises(UnsafeURLError) as refused:
        client.open(url, timeout=5)
    assert "feed.test resolves to 127.0.0.2, which is not a public address" in refused.value.detail
    assert victim.seen == []


def test_every_path_connects_to_the_first_answer(server, victim) -> None:
    """Validate-by-URL, upstreams and probes: one lookup per fetch, and only the checked address
    is connected to (private addresses allowed here, as the tests' own servers need)."""
    server.route("/feed.json", body=VALID, headers={"Content-Type": "application/json"})
    server.route("/items.json", body=b'[{"id": "a1", "title": "One"}]')
    base = f"http://feed.test:{server.port}"

    def rebinding() -> Names:
        return Names({"feed.test": [["127.0.0.1"], ["127.0.0.2"]]})

    names = rebinding()
    checked = check_feed(base + "/feed.json", files=False, allow_private=True, resolve=names)
    assert checked.report is not None and checked.report.valid and names.lookups == ["feed.test"]
    names = rebinding()
    [(item, _)] = read_url(base + "/items.json", allow_private=True, resolve=names, timeout=5)
    assert item["id"] == "a1" and names.lookups == ["feed.test"]
    names = rebinding()
    with Prober(allow_private=True, resolve=names, timeout=5) as prober:
        assert prober.probe(base + "/feed.json", max_bytes=16).head == VALID[:16]
    assert names.lookups == ["feed.test"]
    assert victim.seen == []


def test_each_redirect_hop_is_checked_and_pinned(server, victim) -> None:
    names = Names({"a.test": [["127.0.0.1"]], "b.test": [["127.0.0.2"]]})
    start = server.route("/go", status=302, headers={"Location": f"http://b.test:{server.port}/feed.json"})
    with Client(allowed_hosts=PUBLIC, resolve=names) as client, pytest.raises(UnsafeURLError) as refused:
        client.open(start.replace("127.0.0.1", "a.test"), timeout=5)
    assert "b.test resolves to 127.0.0.2" in refused.value.detail
    assert refused.value.url == f"http://b.test:{server.port}/feed.json" and refused.value.redirects == 1
    assert names.lookups == ["a.test", "b.test"] and victim.seen == []
    server.route("/to-ip", status=302, headers={"Location": "http://10.0.0.1/feed.json"})
    with Client(allowed_hosts=PUBLIC) as client, pytest.raises(UnsafeURLError, match=re.escape("10.0.0.1")):
        client.open(server.url("/to-ip"), timeout=5)


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch) -> None:
    connects: list[object] = []
    real_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", lambda s, a: connects.append(a) or real_connect(s, a))
    names = Names({"mixed.test": [["8.8.8.8", "10.0.0.1"]]})
    with pytest.raises(UnsafeURLError, match=re.escape("mixed.test resolves to 10.0.0.1")):
        fetch("http://mixed.test/feed.json", max_bytes=MB, resolve=names)
    assert connects == []


def test_checked_addresses_are_tried_in_order(server) -> None:
    server.route("/feed.json", body=VALID)
    names = Names({"two.test": [["127.0.0.3", "127.0.0.1"]]})  # nothing listens on the first
    url = f"http://two.test:{server.port}/feed.json"
    fetched = fetch(url, max_bytes=MB, allow_private=True, resolve=names)
    assert fetched.content == VALID and names.lookups == ["two.test"]


@pytest.fixture
def server6() -> Iterator[LocalServer]:
    srv = LocalServer("::1")
    yield srv
    srv.close()


def test_ipv6_literal_hosts(server6) -> None:
    url = server6.route("/feed.json", body=VALID)
    assert url.startswith("http://[::1]:")
    with pytest.raises(UnsafeURLError, match="not a public address"):
        fetch(url, max_bytes=MB)
    assert fetch(url, max_bytes=MB, allow_private=True).content == VALID
    assert server6.seen == [("/feed.json", f"[::1]:{server6.port}")]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> Iterator[tuple[LocalServer, str, list[str]]]:
    """An HTTPS server with a certificate for feed.test only, the CA file that trusts it, and the
    server names (SNI) its clients asked for."""
    ca = trustme.CA()
    srv = LocalServer()
    srv.route("/feed.json", body=VALID)
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("feed.test").configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    srv.httpd.socket = context.wrap_socket(srv.httpd.socket, server_side=True)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield srv, str(ca_file), names
    srv.close()


def test_tls_keeps_the_host_name_for_sni_and_certificate(tls_server) -> None:
    srv, ca_file, names = tls_server
    resolve = Names({"feed.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    with Client(allowed_hosts=PUBLIC, resolve=resolve, ca_certs=ca_file) as client:
        with client.open(f"https://feed.test:{srv.port}/feed.json", timeout=5) as response:
            assert response.read(MB) == (VALID, True)
        assert names[-1] == "feed.test"
        assert srv.seen[-1] == ("/feed.json", f"feed.test:{srv.port}")
        with pytest.raises(FetchError, match=re.escape("not valid for 'other.test'")) as wrong:
            client.open(f"https://other.test:{srv.port}/feed.json", timeout=5)  # same address, other name
        assert wrong.value.kind == "tls"
    with Client(allowed_hosts=PUBLIC, resolve=resolve) as client, pytest.raises(FetchError) as untrusted:
        client.open(f"https://feed.test:{srv.port}/feed.json", timeout=5)  # certifi does not know this CA
    assert untrusted.value.kind == "tls" and "certificate verify failed" in untrusted.value.detail


# --- one deadline for the whole fetch ------------------------------------------------------------

DEADLINE = 1.0
GENEROUS = 10 * DEADLINE  # far below the trickle's 60 s: a fetch that waits for it is unmistakable


def _validate_by_api(url: str, tmp_path: Path) -> str:
    app = make_app(tmp_path, None, ALLOW_PRIVATE_URLS=True, FETCH_TIMEOUT=DEADLINE)
    answer = app.test_client().post("/api/v1/validate", json={"url": url})
    assert answer.status_code == 502 and answer.json["type"].endswith("/fetch-failed")
    return answer.json["detail"]


def _check_feed(url: str, tmp_path: Path) -> str:
    checked = check_feed(url, files=False, timeout=DEADLINE, allow_private=True)
    assert isinstance(checked.problem, FetchError) and checked.problem.kind == "timeout"
    return checked.problem.detail


def _upstream(url: str, tmp_path: Path) -> str:
    with pytest.raises(FetchError) as caught:
        list(read_url(url, timeout=DEADLINE, allow_private=True, state_dir=tmp_path))
    assert caught.value.kind == "timeout"
    return caught.value.detail


def _probe(url: str, tmp_path: Path) -> str:
    with Prober(timeout=DEADLINE, allowed_hosts=PUBLIC) as prober:
        probed = prober.probe(url, max_bytes=16)
    assert probed.error_kind == "timeout" and probed.status is None
    return probed.error or ""


@pytest.mark.parametrize(
    "path", [_validate_by_api, _check_feed, _upstream, _probe], ids=lambda f: f.__name__[1:]
)
def test_trickled_headers_end_at_the_deadline(server, tmp_path: Path, path) -> None:
    url = server.trickle("/trickle")
    started = time.monotonic()
    assert f"timed out after {DEADLINE:g} s" in path(url, tmp_path)
    assert time.monotonic() - started < GENEROUS  # not the trickle's minute


def test_a_hanging_lookup_ends_at_the_deadline() -> None:
    answer = threading.Event()

    def hangs(host: str, port: int) -> list[str]:
        answer.wait(60)
        return ["127.0.0.1"]

    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match=re.escape("timed out after 0.5 s")) as caught:
            fetch("http://slow-dns.test/feed.json", max_bytes=MB, timeout=0.5, resolve=hangs)
    finally:
        answer.set()
    assert caught.value.kind == "timeout" and time.monotonic() - started < GENEROUS


def test_the_deadline_spans_redirects(server) -> None:
    def slow_hop(n: int):
        def respond(handler) -> None:
            time.sleep(0.4)
            handler.send_response(302)
            handler.send_header("Location", f"/hop{n + 1}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        return respond

    for n in range(5):
        server.handler(f"/hop{n}", slow_hop(n))
    server.route("/hop5", body=VALID)
    with pytest.raises(FetchError, match="timed out after 1 s"):
        fetch(server.url("/hop0"), max_bytes=MB, timeout=1.0, allow_private=True)  # 5 hops of 0.4 s


# --- decompressed bodies are capped like raw ones ------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_stops_at_the_cap_on_every_path(server, encoding: str) -> None:
    url = server.bomb("/bomb", encoding)  # about 64 KB that inflate to 64 MiB
    tracemalloc.start()
    try:
        with pytest.raises(FeedTooLargeError, match="larger than the 1,048,576-byte limit"):
            fetch(url, max_bytes=MB, allow_private=True)
        checked = check_feed(url, files=False, max_bytes=MB, allow_private=True)
        assert isinstance(checked.problem, FeedTooLargeError)
        with pytest.raises(FeedTooLargeError):
            list(read_url(url, max_bytes=MB, allow_private=True))
        with Prober(allowed_hosts=PUBLIC) as prober:
            probed = prober.probe(url, max_bytes=MB)
        assert probed.ok and probed.head == bytes(MB)  # a probe keeps the head it asked for
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB  # nothing was inflated much past the cap
