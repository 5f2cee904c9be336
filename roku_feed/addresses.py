"""Where a URL somebody gave us may lead: http(s) only, and public addresses only.

A host name is resolved once per fetch hop, here, and the connection then goes to exactly the
addresses checked (`roku_feed.pinned`): a name that answers differently the second time it is
asked (DNS rebinding) never gets a second question. Every address a name resolves to must be
public unless the caller allows private ones (tests, an operator checking an intranet feed).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import typing as t
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from roku_feed.errors import FetchError, UnsafeURLError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: (host name, port) -> the IP addresses to connect to, as text; raises OSError when the name
#: does not resolve. The seam through which tests answer for names of their own.
Resolve = Callable[[str, int], Sequence[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for `host`, in its order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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


@dataclass(frozen=True)
class Target:
    """One hop of a fetch, checked: where to connect (`addresses`) and the name to ask for there."""

    scheme: str
    host: str  # lower case, IDNA-encoded, IPv6 without brackets: for Host, SNI and certificates
    port: int
    request_target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


def check_url(
    url: str,
    *,
    allow_private: bool = False,
    allowed_hosts: frozenset[str] = frozenset(),
    resolve: Resolve = system_resolve,
    within: float | None = None,
) -> Target:
    """The checked `Target` of `url`; UnsafeURLError unless it is http(s) and every address its
    host resolves to is public (or allowed: `allow_private`, or listed in `allowed_hosts` as a
    host name or address), FetchError when the name does not resolve. `within` bounds the
    lookup in seconds (TimeoutError past it)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # an unclosed IPv6 bracket, a port that is not a number
        raise UnsafeURLError(f"{url}: invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError(f"{url}: only http and https URLs can be fetched")
    if not parts.hostname:
        raise UnsafeURLError(f"{url}: no host name")
    if parts.username or parts.password:
        raise UnsafeURLError(f"{url}: URLs with credentials are refused")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeURLError(f"{url}: {parts.hostname!r} is not a valid host name") from None
    port = port or (443 if scheme == "https" else 80)
    addresses = _addresses(url, host, port, resolve, within)
    if not (allow_private or host in allowed_hosts):
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if str(address) not in allowed_hosts and not is_public(address):
                raise UnsafeURLError(
                    f"{url}: {host} resolves to {address}, which is not a public address;"
                    " refused (private, loopback and link-local targets need explicit permission)"
                )
    request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, request_target, addresses)


def _addresses(url: str, host: str, port: int, resolve: Resolve, within: float | None) -> tuple[str, ...]:
    """An IP literal as itself; a name as what `resolve` answers, asked once."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        found = tuple(resolve(host, port) if within is None else _resolve_within(resolve, host, port, within))
    except TimeoutError:
        raise
    except OSError as exc:
        raise FetchError(f"{url}: cannot resolve {host}: {exc.strerror or exc}", kind="dns") from None
    if not found:
        raise FetchError(f"{url}: cannot resolve {host}: no address", kind="dns")
    return found


def _resolve_within(resolve: Resolve, host: str, port: int, seconds: float) -> Sequence[str]:
    """`resolve(host, port)`, given up on after `seconds` (TimeoutError): the system resolver
    cannot be interrupted, so it runs in a thread of its own that is left to finish."""
    done = threading.Event()
    outcome: dict[str, t.Any] = {}

    def run() -> None:
        try:
            outcome["addresses"] = resolve(host, port)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise TimeoutError(f"resolving {host} took over {seconds:.3g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]
