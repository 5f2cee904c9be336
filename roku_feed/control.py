"""How servers hand write requests to the one publisher: JSON over a local, authenticated socket.

The publisher listens on an abstract Unix socket named after its data directory (no file, so
no path-length limit and nothing to clean up after a crash) and accepts only peers that know
the key in `DATA_DIR/publisher.key` (mode 0600, made by the publisher): the
multiprocessing.connection handshake, then one JSON request and one JSON answer per connection
(bytes only, never pickle; orjson, as a build record lists every skipped article). Errors of
roku_feed's own classes cross back as themselves, so the API answers a publisher's "snapshot
not found" exactly as it would in-process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
import time
import typing as t
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path

import orjson

from roku_feed import errors
from roku_feed.errors import PublisherUnavailableError, RokuFeedError

log = logging.getLogger("roku_feed.control")

KEY_FILE = "publisher.key"
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a push is at most the API's body limit, well below this


class Writer(t.Protocol):
    """What the web app needs of a publisher: an in-process Publisher or a PublisherClient."""

    def call(self, op: str, **args: t.Any) -> dict[str, t.Any]: ...


def address(data_dir: Path) -> str:
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:24]
    return f"\0roku-feed-publisher-{digest}"


def _key(data_dir: Path, *, create: bool) -> bytes:
    path = Path(data_dir) / KEY_FILE
    if create and not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return path.read_bytes()


def _error_payload(exc: RokuFeedError) -> dict[str, t.Any]:
    return {"class": type(exc).__name__, "detail": exc.detail, "extra": exc.extra}


def carry_out(writer: Writer, op: str, args: dict[str, t.Any]) -> dict[str, t.Any]:
    """A write request's answer, as it crosses back to the server: the result or the error."""
    try:
        return {"ok": True, "result": writer.call(op, **args)}
    except RokuFeedError as exc:
        return {"ok": False, "error": _error_payload(exc)}
    except Exception as exc:  # a bug: keep its traceback in the publisher's log
        log.exception("publisher operation %r failed", op)
        return {"ok": False, "error": {"class": "PublisherFailedError", "detail": repr(exc)}}


def result_of(answer: dict[str, t.Any]) -> dict[str, t.Any]:
    """The result `carry_out` answered, or its error raised as the class it was."""
    if not answer.get("ok"):
        _raise_from(answer.get("error", {}))
    return t.cast(dict[str, t.Any], answer["result"])


def _raise_from(payload: dict[str, t.Any]) -> t.NoReturn:
    cls = getattr(errors, str(payload.get("class")), None)
    if not (isinstance(cls, type) and issubclass(cls, RokuFeedError)):
        cls = errors.PublisherFailedError
    exc = cls.__new__(cls)
    RokuFeedError.__init__(exc, str(payload.get("detail", "")), **payload.get("extra", {}))
    raise exc


class ControlServer:
    """The publisher's side: answers write requests, one connection per request, in threads."""

    def __init__(self, data_dir: Path) -> None:
        """Bind the socket (OSError if another publisher holds it); requests wait until served."""
        self.listener = Listener(address(data_dir), family="AF_UNIX", authkey=_key(data_dir, create=True))
        self._closed = threading.Event()

    def serve_forever(self, writer: Writer) -> None:
        while not self._closed.is_set():
            try:
                conn = self.listener.accept()
            except (AuthenticationError, EOFError, ConnectionError) as exc:
                log.warning("refused a control connection: %s", exc)
                continue
            except OSError:
                if self._closed.is_set():
                    return
                raise
            threading.Thread(target=self._answer, args=(writer, conn), daemon=True).start()

    def _answer(self, writer: Writer, conn: Connection) -> None:
        with conn:
            try:
                request = orjson.loads(conn.recv_bytes(MAX_REQUEST_BYTES))
                op, args = request["op"], request.get("args", {})
            except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
                log.warning("unreadable control request: %s", exc)
                return
            with contextlib.suppress(OSError):
                conn.send_bytes(orjson.dumps(carry_out(writer, op, args)))

    def close(self) -> None:
        self._closed.set()
        self.listener.close()


class PublisherClient:
    """The servers' side: one request per connection; PublisherUnavailableError if nobody answers."""

    def __init__(self, data_dir: Path, *, timeout: float = 120.0, connect_within: float = 10.0) -> None:
        self.data_dir = Path(data_dir)
        self.timeout = timeout
        # rides out a publisher (re)start: about a second, more on a loaded machine
        self.connect_within = connect_within

    def _connect(self) -> Connection:
        deadline = time.monotonic() + self.connect_within
        while True:
            try:
                return Client(
                    address(self.data_dir), family="AF_UNIX", authkey=_key(self.data_dir, create=False)
                )
            except (OSError, AuthenticationError, EOFError) as exc:
                if time.monotonic() >= deadline:
                    raise PublisherUnavailableError(
                        f"the publisher is not running ({exc.__class__.__name__})"
                    ) from None
            time.sleep(0.1)

    def call(self, op: str, **args: t.Any) -> dict[str, t.Any]:
        conn = self._connect()
        with conn:
            try:
                conn.send_bytes(orjson.dumps({"op": op, "args": args}))
                if not conn.poll(self.timeout):
                    raise PublisherUnavailableError(f"the publisher did not answer within {self.timeout:g} s")
                answer = orjson.loads(conn.recv_bytes())
            except (OSError, EOFError) as exc:
                raise PublisherUnavailableError(
                    f"the publisher went away ({exc.__class__.__name__})"
                ) from None
        return result_of(answer)
