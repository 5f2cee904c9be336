"""The Flask app: public feed, operator API, pages and ops endpoints. Readers only.

A server never builds, fetches or writes: it serves the live snapshot (loaded before the first
request, followed with one `stat` per request) and hands every write to the publisher, through
`writer` (in-process for tests and embedded use, otherwise the publisher's control socket).
On PostgreSQL the snapshot is followed instead by one thread per process (roku_feed.follow),
which LISTENs for publishes: no request waits on the database, and serving goes on without it.
"""

from __future__ import annotations

import threading
import time
import typing as t
from collections.abc import Callable
from pathlib import Path

import orjson
from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider

from roku_feed import activity, metrics
from roku_feed.control import PublisherClient, Writer
from roku_feed.snapshots import LiveSnapshot
from roku_feed.store import open_store
from roku_feed.web import api, console, feeds, openapi, ops, pages, problems, session
from roku_feed.web.bodies import BoundedRequest
from roku_feed.web.config import load_config
from roku_feed.web.state import ServerState

if t.TYPE_CHECKING:
    from roku_feed.follow import Follower


def _count_request(response: Response) -> Response:
    """Count what Flask answered (feeds.FeedServer counts the feeds it answers itself)."""
    rule = request.url_rule.rule if request.url_rule else "unmatched"
    metrics.count_request(rule, response.status_code)
    return response


class OrjsonProvider(DefaultJSONProvider):
    """JSON answers through orjson: a build record lists every skipped article, thousands of them."""

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        return orjson.dumps(obj).decode("utf-8")


def create_app(
    config: t.Mapping[str, t.Any] | None = None,
    *,
    writer: Writer | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """Build the app from defaults, ROKU_FEED_CONFIG, ROKU_FEED_* and `config` (tests); `clock`
    (epoch seconds) dates fetch activity, so tests can move through hours without waiting."""
    settings = load_config(config)
    metrics.start()
    activity.recorder(clock())  # this worker's activity file, allocated now while there is room
    app = Flask(__name__)
    app.request_class = BoundedRequest  # a body over MAX_CONTENT_LENGTH is a 413 however it is sent
    app.config.update(settings)
    app.json = OrjsonProvider(app)
    session.install(app)
    data_dir = Path(settings["DATA_DIR"])
    backend = open_store(data_dir, url=settings["DATABASE_URL"], keep=int(settings["KEEP_SNAPSHOTS"]))
    # loads the live snapshot now, before the first request; a damaged one is counted, never served
    live = LiveSnapshot(
        backend.snapshots,
        on_fault=lambda _: metrics.count_fault("live-snapshot"),
        followed=bool(settings["DATABASE_URL"]),
    )
    app.extensions["roku_feed"] = ServerState(
        live=live,
        store=backend.snapshots,
        records=backend.records,
        data_dir=data_dir,
        writer=writer or _writer(settings["DATABASE_URL"], data_dir),
        reader=writer or _writer(settings["DATABASE_URL"], data_dir, reading=True),
        clock=clock,
        follower=_follow(settings["DATABASE_URL"], live, float(settings["FOLLOW_BACKSTOP"])),
    )
    for blueprint in (feeds.bp, api.bp, ops.bp, pages.bp, console.bp, openapi.bp):
        app.register_blueprint(blueprint)
    problems.register(app)
    app.after_request(_count_request)
    feeds.install(app, live)
    return app


def _follow(database_url: str | None, live: LiveSnapshot, backstop: float) -> Follower | None:
    """On PostgreSQL, a thread that reloads `live` whenever a publish is announced (and every
    `backstop` seconds), and tells the metrics whether the database can be reached."""
    if not database_url:
        return None
    from roku_feed.follow import Follower
    from roku_feed.store.postgres import connect

    follower = Follower(
        lambda: connect(database_url), live.look, backstop=backstop, on_state=metrics.set_database_up
    )
    follower.start(threading.Event())  # for the life of the process
    return follower


def _writer(database_url: str | None, data_dir: Path, *, reading: bool = False) -> Writer:
    """Writes go to this machine's publisher, or on PostgreSQL to whichever machine's holds the lock.
    `reading`: for what a page asks of the publisher, which must not wait out a restart."""
    if not database_url:
        if reading:
            return PublisherClient(data_dir, timeout=10.0, connect_within=0.5)
        return PublisherClient(data_dir)
    from roku_feed.relay import RelayClient
    from roku_feed.store.postgres import connect

    return RelayClient(lambda: connect(database_url), timeout=10.0 if reading else 120.0)
