"""urllib3 connections that go only to checked addresses and never outlast a fetch's deadline.

urllib3 resolves a host name itself when it connects. These connection classes connect to the
addresses `roku_feed.addresses.check_url` checked instead, and keep the host name for the Host
header, TLS SNI and certificate verification.

A socket timeout restarts with every byte, so a server that trickles its headers or body one
byte at a time is never timed out by one. The sockets here shrink their timeout to the time
left before the deadline of the fetch in progress (`deadline`) before every receive and send,
and a TLS handshake runs with that time as its timeout (CPython bounds the whole handshake by
it), so one deadline covers connect, TLS, headers and body.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import socket
import ssl
import time
import typing as t
from collections.abc import Iterator

import certifi
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.ssl_ import create_urllib3_context

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("fetch_deadline", default=None)


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Within this block, this thread's sockets give up at `at` (time.monotonic())."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds before the deadline in force (None: none is); TimeoutError once it has passed."""
    at = _DEADLINE.get()
    if at is None:
        return None
    left = at - time.monotonic()
    if left <= 0:
        raise TimeoutError("the fetch's deadline has passed")
    return left


class _Bounded:
    """Socket methods http.client reads and writes through, each bounded by the time left."""

    __slots__ = ()

    def _shrink(self) -> None:
        left = time_left()
        if left is not None:
            self.settimeout(left)  # type: ignore[attr-defined]

    def recv_into(self, *args: t.Any, **kwargs: t.Any) -> int:
        self._shrink()
        return super().recv_into(*args, **kwargs)  # type: ignore[misc]

    def recv(self, *args: t.Any, **kwargs: t.Any) -> bytes:
        self._shrink()
        return super().recv(*args, **kwargs)  # type: ignore[misc]

    def sendall(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._shrink()
        return super().sendall(*args, **kwargs)  # type: ignore[misc]


class _BoundedSocket(_Bounded, socket.socket):
    pass


class _BoundedSSLSocket(_Bounded, ssl.SSLSocket):
    pass


@functools.cache
def tls_context(ca_certs: str | None = None) -> ssl.SSLContext:
    """urllib3's default TLS settings (certificates and host names verified), trusting `ca_certs`
    or else certifi's bundle, with sockets bounded by the deadline. Loading a bundle takes tens of
    milliseconds, so there is one context per bundle, shared (contexts are thread-safe)."""
    context = create_urllib3_context()
    context.load_verify_locations(cafile=ca_certs or certifi.where())
    context.sslsocket_class = _BoundedSSLSocket
    return context


def _connect(addresses: tuple[str, ...], port: int) -> socket.socket:
    """A TCP connection to the first of `addresses` that answers, each tried within the time left."""
    failure: OSError | None = None
    for address in addresses:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )[0]  # a literal: no lookup, just the socket address (with an IPv6 scope, if any)
        sock = _BoundedSocket(family, kind, proto)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(time_left())
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        sock.settimeout(time_left())  # what a TLS handshake may take
        return sock
    raise failure or OSError("no address to connect to")


class _Pinned:
    """Connects to the checked `addresses` instead of resolving the host name again."""

    host: str
    port: int

    def __init__(self, *args: t.Any, addresses: tuple[str, ...], **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.addresses = addresses

    def _new_conn(self) -> socket.socket:
        where = f"{self.host} ({', '.join(self.addresses)}) port {self.port}"
        try:
            return _connect(self.addresses, self.port)
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"connecting to {where} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"cannot connect to {where}: {exc.strerror or exc}") from exc  # type: ignore[arg-type]


class _PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def pool(
    scheme: str, host: str, port: int, addresses: tuple[str, ...], *, tls: ssl.SSLContext | None, size: int
) -> HTTPConnectionPool:
    """A keep-alive pool of up to `size` connections to `host`, made only to `addresses`."""
    if scheme == "https":
        return _PinnedHTTPSPool(host, port, maxsize=size, retries=False, ssl_context=tls, addresses=addresses)
    return _PinnedHTTPPool(host, port, maxsize=size, retries=False, addresses=addresses)
