"""Running the app under gunicorn, a production WSGI server (never Flask's debug server)."""

from __future__ import annotations

import typing as t

from gunicorn.app.base import BaseApplication

from roku_feed.metrics import mark_process_dead


def _child_exit(server: t.Any, worker: t.Any) -> None:
    """gunicorn's hook in the master when a worker exits: its live-only metrics go with it."""
    mark_process_dead(worker.pid)


def _child_exit(_server: t.Any, worker: t.Any) -> None:
    """gunicorn calls this in the master when a worker exits: its live gauges go with it."""
    from roku_feed import metrics

    metrics.mark_process_dead(worker.pid)


class FeedServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured from code: `roku-feed serve` needs no gunicorn.conf.py.

    The app, with the live snapshot, is loaded before any worker accepts a connection.
    """

    def __init__(self, options: dict[str, t.Any], config: dict[str, t.Any] | None = None) -> None:
        # preload_app: the app (and the live snapshot) is loaded once, in the master, and every
        # worker forked from it serves from its first connection, sharing those pages.
        self.options = {
            "child_exit": _child_exit,
            "control_socket_disable": True,
            "preload_app": True,
            **options,
        }
        self.app_config = config
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("child_exit", _child_exit)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> t.Any:
        from roku_feed.web import create_app

        return create_app(self.app_config)
