"""The process model: one publisher (the only writer) next to N server workers (readers only).

`roku-feed serve` runs `supervise`: it starts `roku-feed publisher` and the WSGI server
(`roku-feed serve --no-publisher`) as child processes, restarts the publisher whenever it
exits (serving never stops meanwhile: servers keep the live snapshot), and stops both on
SIGTERM or SIGINT. Deployments that want them apart run the two commands themselves.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
import typing as t
from pathlib import Path

from roku_feed import metrics

log = logging.getLogger("roku_feed.processes")

#: Restart delays after a publisher exits: quick at first, slower while it keeps crashing.
FIRST_DELAY, MAX_DELAY, STABLE_AFTER = 0.5, 30.0, 60.0
#: Seconds between attempts to open a data directory that cannot be written.
STORAGE_RETRY = 2.0


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())


def run_publisher(config: t.Mapping[str, t.Any]) -> None:
    """`roku-feed publisher`: wait to be the data directory's only publisher, then publish until stopped."""
    from roku_feed.channel import load_channel
    from roku_feed.control import ControlServer
    from roku_feed.publisher import Publisher, PublisherSettings

    stop = threading.Event()
    _stop_on_signals(stop)
    settings = PublisherSettings.from_config(config)
    channel = load_channel(config["CHANNEL_FILE"])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metrics.join_multiprocess_dir(settings.data_dir / "metrics")
    metrics.start()
    control = None
    while control is None:  # the control socket's name is the lock: one publisher per data directory
        try:
            control = ControlServer(settings.data_dir)
        except OSError as exc:
            log.info("another publisher holds %s (%s); waiting", settings.data_dir, exc.strerror)
            if stop.wait(1.0):
                return
    writer = _Deferred()
    threading.Thread(target=control.serve_forever, args=(writer,), name="control", daemon=True).start()
    leadership = None
    try:
        if settings.database_url:  # one publisher among every machine's: wait to be elected
            leadership = _elected(settings, stop)
            if leadership is None:
                return
        publisher = _open_publisher(lambda: Publisher(settings, channel), writer, stop)
        if publisher is None:
            return
        if leadership is not None:
            _lead(publisher, leadership, settings.database_url, stop)
        log.info("publisher %d serving %s", os.getpid(), settings.data_dir)
        publisher.run(stop)
    finally:
        control.close()
        if leadership is not None:
            leadership.release()


def _elected(settings: t.Any, stop: threading.Event) -> t.Any:
    """This machine's Leadership once it holds the publisher lock; None if stopped first.

    Meanwhile the machine's static directory (for its nginx or a CDN origin) follows the live
    snapshot another machine's publisher makes: the one thing a waiting publisher writes.
    """
    from roku_feed.election import Leadership
    from roku_feed.store.postgres import connect

    url = settings.database_url
    leadership = Leadership(lambda: connect(url))
    log.info("waiting for the publisher lock as %s", leadership.name)
    waiting, writing = threading.Event(), threading.Lock()
    if settings.static_dir is not None:
        threading.Thread(
            target=_follow_static, args=(settings, waiting, writing), name="static", daemon=True
        ).start()
    try:
        return leadership if leadership.acquire(stop) else None
    finally:
        waiting.set()
        with writing:  # a copy under way ends before the publisher writes the directory itself
            pass


def _follow_static(settings: t.Any, done: threading.Event, writing: threading.Lock) -> None:
    """Until `done`, keep `settings.static_dir` holding the live snapshot, as servers follow it;
    each copy is made holding `writing`, and none once `done` is set."""
    from roku_feed.errors import DatabaseUnavailableError
    from roku_feed.follow import Follower
    from roku_feed.release import sync_static
    from roku_feed.snapshots import LiveSnapshot
    from roku_feed.store import open_store
    from roku_feed.store.postgres import connect

    while True:  # the database may be down when the wait begins
        try:
            backend = open_store(settings.data_dir, url=settings.database_url)
            live = LiveSnapshot(backend.snapshots, followed=True)
            break
        except DatabaseUnavailableError:
            if done.wait(STORAGE_RETRY):
                return

    def look() -> None:
        snapshot = live.look()
        with writing:
            if snapshot is not None and not done.is_set():
                sync_static(settings.static_dir, snapshot)

    try:
        Follower(lambda: connect(settings.database_url), look).run(done)
    finally:
        backend.close()


def _lead(publisher: t.Any, leadership: t.Any, url: str, stop: threading.Event) -> None:
    """Fence the publisher's writes, carry out every machine's write requests, and stop publishing
    (the process exits, and the supervisor starts it again to wait for the lock) once the lock is lost."""
    from roku_feed.relay import RelayServer
    from roku_feed.store.postgres import connect

    publisher.backend.fence = leadership.fence
    leadership.watch(stop)
    relay = RelayServer(lambda: connect(url), publisher, leadership)
    threading.Thread(target=relay.serve, args=(stop,), name="relay", daemon=True).start()
    threading.Thread(target=lambda: (leadership.lost.wait(), stop.set()), name="lost", daemon=True).start()


class _Deferred:
    """The control socket's writer until the publisher is open: every write meanwhile is refused
    with why (the data directory cannot be written), then handed to the publisher."""

    def __init__(self) -> None:
        self.target: t.Any = None
        self.refusal: Exception | None = None

    def call(self, op: str, **args: t.Any) -> dict[str, t.Any]:
        if self.target is not None:
            return t.cast(dict[str, t.Any], self.target.call(op, **args))
        from roku_feed.errors import PublisherUnavailableError

        raise self.refusal or PublisherUnavailableError("the publisher is starting")


def _open_publisher(make: t.Callable[[], t.Any], writer: _Deferred, stop: threading.Event) -> t.Any:
    """The publisher, opened as soon as its data directory can be written; None if stopped first.

    A read-only or full data directory, or an unreachable database, at start does not end the
    process (the supervisor would restart it again and again): it is retried every STORAGE_RETRY
    seconds, and writes meanwhile answer storage-unavailable, storage-full or
    database-unavailable. The servers keep serving the last good feed.
    """
    import sqlite3

    from roku_feed.errors import DatabaseUnavailableError, storage_error

    while True:
        try:
            writer.target = make()
            return writer.target
        except (OSError, sqlite3.Error) as exc:
            error = storage_error(exc, stored=False)
            if error is None:
                raise
        except DatabaseUnavailableError as exc:
            error = exc
        if writer.refusal is None or str(writer.refusal) != str(error):
            log.error("the data directory cannot be opened for writing: %s; retrying", error.detail)
            metrics.count_fault("data-dir")
        writer.refusal = error
        if stop.wait(STORAGE_RETRY):
            return None


def supervise(publisher_cmd: list[str], server_cmd: list[str], data_dir: Path) -> int:
    """Run the publisher and the server; restart the publisher when it exits; return the server's code."""
    metrics.prepare_multiprocess_dir(os.environ.get(metrics.ENV) or data_dir / "metrics")  # before any child
    stop = threading.Event()
    _stop_on_signals(stop)
    server = subprocess.Popen(server_cmd)
    publisher = subprocess.Popen(publisher_cmd)
    started, delay, restart_at = time.monotonic(), FIRST_DELAY, None
    try:
        while not stop.wait(0.1) and server.poll() is None:
            if restart_at is None and publisher.poll() is not None:
                ran = time.monotonic() - started
                delay = FIRST_DELAY if ran > STABLE_AFTER else min(MAX_DELAY, delay * 2)
                log.error(
                    "publisher exited with %s after %.0f s; restarting in %.1f s",
                    publisher.returncode,
                    ran,
                    delay,
                )
                metrics.mark_process_dead(publisher.pid)
                restart_at = time.monotonic() + delay
            if restart_at is not None and time.monotonic() >= restart_at:
                publisher, started, restart_at = subprocess.Popen(publisher_cmd), time.monotonic(), None
    finally:
        for child in (server, publisher):
            if child.poll() is None:
                child.terminate()
        for child in (server, publisher):
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return server.returncode or 0
