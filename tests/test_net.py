"""Fetching feeds by URL against a real local server: bounded, and safe against SSRF."""

from __future__ import annotations

import ipaddress
import time

import pytest
from conftest import CORPUS

from roku_feed.errors import FeedTooLargeError, FetchError, UnsafeURLError
from roku_feed.net import check_url, fetch, is_public

VALID = (CORPUS / "valid" / "minimal.json").read_bytes()
MB = 1024 * 1024


def get(url: str, **options):
    options.setdefault("max_bytes", MB)
    options.setdefault("allow_private", True)
    options.setdefault("timeout", 5.0)
    return fetch(url, **options)


def test_fetches_a_feed(server) -> None:
    url = server.route("/feed.json", body=VALID, headers={"Content-Type": "application/json"})
    fetched = get(url)
    assert fetched.content == VALID and fetched.status == 200 and fetched.url == url


def test_follows_a_bounded_number_of_redirects(server) -> None:
    target = server.route("/feed.json", body=VALID)
    server.route("/a", status=302, headers={"Location": "/b"})
    server.route("/b", status=301, headers={"Location": target})
    assert get(server.url("/a")).url == target
    for n in range(6):
        server.route(f"/hop{n}", status=302, headers={"Location": f"/hop{n + 1}"})
    server.route("/hop6", body=VALID)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        get(server.url("/hop0"))
    server.route("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="redirect loop"):  # said at once, not after five
        get(server.url("/loop"))


@pytest.mark.parametrize(("status", "reason"), [(404, "HTTP 404"), (500, "HTTP 500"), (503, "HTTP 503")])
def test_http_errors(server, status: int, reason: str) -> None:
    url = server.route("/x", status=status, body=b"oops")
    with pytest.raises(FetchError, match=reason) as caught:
        get(url)
    assert caught.value.extra["upstream_status"] == status


def test_declared_length_over_the_cap_is_refused_unread(server) -> None:
    url = server.route("/big", body=b"x" * 10, headers={"Content-Length": str(2 * MB)})
    with pytest.raises(FeedTooLargeError, match="2,097,152 bytes"):
        get(url)


def test_endless_body_is_cut_at_the_cap(server) -> None:
    def endless(handler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: read until the connection closes
        while True:
            handler.wfile.write(b" " * 65536)

    url = server.handler("/endless", endless)
    with pytest.raises(FeedTooLargeError, match="larger than the 1,048,576-byte limit"):
        get(url)


def test_slow_server_times_out(server) -> None:
    url = server.slow("/slow", 2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        get(url, timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_trickling_body_is_bounded_by_the_total_timeout(server) -> None:
    def trickle(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.05)

    url = server.handler("/trickle", trickle)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        get(url, timeout=0.6)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/feed.json", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///feed.json", "no host name"),
        ("http://user:secret@example.org/feed.json", "credentials"),
        ("http://127.0.0.1/feed.json", "not a public address"),
        ("http://localhost/feed.json", "not a public address"),
        ("http://[::1]/feed.json", "not a public address"),
        ("http://10.0.0.8/feed.json", "not a public address"),
        ("http://192.168.1.1/feed.json", "not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "not a public address"),
        ("http://[::ffff:127.0.0.1]/feed.json", "not a public address"),
        ("http://0.0.0.0/feed.json", "not a public address"),
    ],
)
def test_unsafe_urls_are_refused_before_any_connection(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url(url)


def test_private_address_allowed_only_when_asked(server) -> None:
    url = server.route("/feed.json", body=VALID)
    with pytest.raises(UnsafeURLError):
        get(url, allow_private=False)
    assert get(url, allow_private=True).content == VALID


def test_redirect_to_another_scheme_is_refused(server) -> None:
    server.route("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(UnsafeURLError, match="only http and https"):
        get(server.url("/to-file"))


def test_sends_a_polite_user_agent(server) -> None:
    seen = {}

    def record(handler) -> None:
        seen["ua"] = handler.headers.get("User-Agent")
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(VALID)))
        handler.end_headers()
        handler.wfile.write(VALID)

    get(server.handler("/ua", record))
    assert seen["ua"].startswith("roku-feed/")


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="ConnectionError"):
        get("http://127.0.0.1:9/feed.json")


# Every form an address can take, and whether it leads to a public host. Checking only: the
# test resolves IP literals (no DNS) and never connects.
ADDRESSES = {
    # IPv4
    "8.8.8.8": True,
    "1.1.1.1": True,
    "127.0.0.1": False,  # loopback
    "10.0.0.1": False,  # private
    "172.16.5.4": False,
    "192.168.1.1": False,
    "169.254.169.254": False,  # link-local (cloud metadata)
    "100.64.0.1": False,  # shared address space (carrier NAT)
    "0.0.0.0": False,  # unspecified
    "192.0.2.1": False,  # documentation
    "224.0.0.1": False,  # multicast
    "239.255.255.250": False,
    "240.0.0.1": False,  # reserved
    "255.255.255.255": False,  # broadcast
    # IPv6
    "2606:4700:4700::1111": True,
    "::1": False,  # loopback
    "::": False,  # unspecified
    "fe80::1": False,  # link-local
    "fc00::1": False,  # unique local
    "ff02::1": False,  # multicast
    "ff0e::1": False,  # global-scope multicast: still not a host
    "2001:db8::1": False,  # documentation
    # IPv6 forms that lead to an IPv4 address
    "::ffff:8.8.8.8": True,  # IPv4-mapped
    "::ffff:127.0.0.1": False,
    "::ffff:0:7f00:1": False,  # IPv4-translated, 127.0.0.1
    "::ffff:0:808:808": True,
    "::7f00:1": False,  # IPv4-compatible, 127.0.0.1
    "::a00:1": False,  # IPv4-compatible, 10.0.0.1
    "::808:808": True,
    "64:ff9b::a00:1": False,  # NAT64 to 10.0.0.1
    "64:ff9b::a9fe:a9fe": False,  # NAT64 to 169.254.169.254
    "64:ff9b::7f00:1": False,
    "64:ff9b::808:808": True,  # NAT64 to 8.8.8.8
    "64:ff9b:1::808:808": False,  # local-use NAT64: whatever its operator makes of it
    "2002:7f00:1::1": False,  # 6to4 of 127.0.0.1
    "2002:a00:1::1": False,  # 6to4 of 10.0.0.1
    "2002:808:808::1": True,
    "2001:0:808:808:0:0:f5ff:fffe": False,  # Teredo, client 10.0.0.1 (stored inverted)
    "2001:0:808:808:0:0:f7f7:fbfb": True,  # Teredo, client 8.8.4.4
}


@pytest.mark.parametrize(("text", "public"), ADDRESSES.items(), ids=list(ADDRESSES))
def test_every_form_of_address_is_judged_by_where_it_leads(text: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(text)) is public
    host = f"[{text}]" if ":" in text else text
    if public:
        check_url(f"http://{host}/feed.json")  # passes the check; nothing is fetched
    else:
        with pytest.raises(UnsafeURLError, match="not a public address"):
            check_url(f"http://{host}/feed.json")
        check_url(f"http://{host}/feed.json", allow_private=True)  # unless the operator allows it
