"""Fetching a URL somebody gave us: http(s) only, public addresses only, bounded in time and size.

Redirects are followed by hand so that every hop is checked again (a public URL must not be
able to redirect us into the private network). Every address the host name resolves to must
be public unless `allow_private` is set (tests, or an operator checking an intranet feed).
"""

from __future__ import annotations

import ipaddress
import socket
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from roku_feed import __version__
from roku_feed.errors import FeedTooLargeError, FetchError, UnsafeURLError

USER_AGENT = f"roku-feed/{__version__} (+feed validator)"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    """The body of a successful fetch and where it finally came from."""

    url: str
    status: int
    headers: t.Mapping[str, str]  # case-insensitive, as HTTP header names are
    content: bytes


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that carry an IPv4 address in their last 32 bits: the packet ends up there.
_EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "64:ff9b::/96",  # NAT64, well-known prefix (RFC 6052)
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "::/96",  # IPv4-compatible, deprecated (RFC 4291); :: and ::1 are handled as themselves
    )
)
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translators


def leads_to(address: Address) -> Address:
    """The address traffic to `address` reaches: the IPv4 one inside an IPv4-mapped, NAT64,
    IPv4-translated or IPv4-compatible, 6to4 or Teredo address; else the address itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if int(address) > 1 and any(address in net for net in _EMBEDS_IPV4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client behind the relay
    return address


def is_public(address: Address) -> bool:
    """Whether `address` leads to a globally routable unicast host: not private, loopback,
    link-local, shared, documentation, reserved, unspecified or multicast, in any disguise."""
    if isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64:
        return False  # translated by whoever runs it, to anything: never assumed public
    target = leads_to(address)
    return target.is_global and not (
        target.is_multicast or target.is_reserved or target.is_unspecified or target.is_loopback
    )


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise UnsafeURLError unless `url` is http(s) and its host resolves to public addresses."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURLError(f"{url}: only http and https URLs can be fetched")
    if not parts.hostname:
        raise UnsafeURLError(f"{url}: no host name")
    if parts.username or parts.password:
        raise UnsafeURLError(f"{url}: URLs with credentials are refused")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except ValueError:
        raise UnsafeURLError(f"{url}: invalid port") from None
    except socket.gaierror as exc:
        raise FetchError(f"{url}: cannot resolve {parts.hostname}: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not is_public(address):
            raise UnsafeURLError(
                f"{url}: {parts.hostname} resolves to {address}, which is not a public address;"
                " refused (private, loopback and link-local targets need explicit permission)"
            )


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    allow_private: bool = False,
    session: requests.Session | None = None,
    headers: t.Mapping[str, str] | None = None,
) -> Fetched:
    """GET `url` safely; raise FetchError (or a subclass) with a one-line reason on any failure.

    `timeout` bounds the whole exchange, redirects and body included, not just each read.
    """
    http = session or requests.Session()
    if session is None:
        http.trust_env = False  # a stranger's URL must not get .netrc credentials or our proxies
    deadline = time.monotonic() + timeout
    request_headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}
    request_headers.update(headers or {})
    current = url
    for _ in range(max_redirects + 1):
        check_url(current, allow_private=allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{url}: timed out after {timeout:g} s")
        try:
            response = http.get(
                current,
                headers=request_headers,
                stream=True,
                allow_redirects=False,
                timeout=(min(remaining, 5.0), remaining),
            )
        except requests.Timeout:
            raise FetchError(f"{current}: timed out after {timeout:g} s") from None
        except requests.RequestException as exc:
            raise FetchError(f"{current}: {type(exc).__name__}: {_first_line(exc)}") from None
        with response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                current = urljoin(current, location)
                continue
            if response.status_code >= 400:
                raise FetchError(
                    f"{current}: HTTP {response.status_code} {response.reason}",
                    upstream_status=response.status_code,
                )
            body = _read_body(response, current, max_bytes, deadline, timeout)
            return Fetched(current, response.status_code, CaseInsensitiveDict(response.headers), body)
    raise FetchError(f"{url}: more than {max_redirects} redirects")


def _read_body(
    response: requests.Response, url: str, max_bytes: int, deadline: float, timeout: float
) -> bytes:
    """Read at most `max_bytes` (after decompression) before `deadline`, whatever the server does.

    read1 returns whatever has arrived instead of waiting to fill a chunk, so a server that
    trickles one byte at a time cannot hold us past the deadline.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FeedTooLargeError(f"{url}: {int(declared):,} bytes, over the {max_bytes:,}-byte limit")
    chunks: list[bytes] = []
    received = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError(f"{url}: timed out after {timeout:g} s while reading the body")
        try:
            chunk = response.raw.read1(_CHUNK, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError(f"{url}: body cut off: {_first_line(exc)}") from None
        if not chunk:
            return b"".join(chunks)
        received += len(chunk)
        if received > max_bytes:
            raise FeedTooLargeError(f"{url}: larger than the {max_bytes:,}-byte limit")
        chunks.append(chunk)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
