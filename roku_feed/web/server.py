"""Running the app under granian, a production WSGI server (never Flask's debug server).

granian parses HTTP in Rust and calls into Python only for the app: measured here on the same
2 cores (bench/README.md, serving benchmark), it answered the feed's 304s at about twice
gunicorn's rate for half the CPU per request. Each worker process loads the app, and with it
the live snapshot, before it takes a connection from the shared socket; a worker that dies is
started again.
"""

from __future__ import annotations

import os
import typing as t

from roku_feed.errors import ConfigError

#: Seconds a worker is given to finish its requests on shutdown before it is killed.
KILL_TIMEOUT = 10


def split_bind(bind: str) -> tuple[str, int]:
    """'127.0.0.1:8000' -> ('127.0.0.1', 8000); '[::1]:8000' too."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"--bind {bind!r}: give host:port, such as 127.0.0.1:8000")
    return host.strip("[]"), int(port)


def run_server(
    bind: str,
    *,
    workers: int,
    threads: int,
    access_log: bool,
    environ: t.Mapping[str, str],
    app: str = "roku_feed.web:create_app",
) -> None:
    """Serve `app()` (a factory, "module:name") until SIGTERM or SIGINT; `environ` goes to the workers.

    The serving benchmark runs its plain Flask view through here too, so that both are measured
    under exactly the same server settings.
    """
    from granian.constants import Interfaces
    from granian.server import Server

    host, port = split_bind(bind)
    os.environ.update(environ)  # workers start from this process's environment
    Server(
        app,
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=threads,
        websockets=False,
        log_access=access_log,
        respawn_failed_workers=True,
        respawn_interval=0.5,
        workers_kill_timeout=KILL_TIMEOUT,
    ).serve()
