"""The Flask app: public feed, operator API and ops endpoints over one FeedService."""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from pathlib import Path

from flask import Flask, Response, request

from roku_feed import metrics
from roku_feed.channel import load_channel
from roku_feed.service import FeedService, ServiceSettings
from roku_feed.web import api, feeds, openapi, ops, pages, problems
from roku_feed.web.config import load_config

log = logging.getLogger(__name__)


def _settings(config: t.Mapping[str, t.Any]) -> ServiceSettings:
    return ServiceSettings(
        data_dir=Path(config["DATA_DIR"]),
        content_dirs=tuple(config["CONTENT_DIRS"]),
        upstream_urls=tuple(config["UPSTREAM_URLS"]),
        fetch_timeout=float(config["FETCH_TIMEOUT"]),
        max_fetch_bytes=int(config["MAX_FETCH_BYTES"]),
        allow_private_urls=bool(config["ALLOW_PRIVATE_URLS"]),
        keep_snapshots=int(config["KEEP_SNAPSHOTS"]),
        max_drop_share=float(config["MAX_DROP_SHARE"]),
        static_dir=Path(config["STATIC_DIR"]) if config["STATIC_DIR"] else None,
    )


def _count_request(response: Response) -> Response:
    rule = request.url_rule.rule if request.url_rule else "unmatched"
    metrics.count_request(rule, response.status_code)
    if (
        rule in ("/feed.json", "/search-feed.json")
        and "roku" in request.headers.get("User-Agent", "").lower()
    ):
        metrics.roku_fetch(time.time())
    return response


def _poll_forever(service: FeedService, interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            service.refresh(force=False)  # records failures itself; backoff decides what is due
        except Exception:  # a bug must not stop polling for good: count it, log it, poll again
            metrics.count_loop_error("poll")
            log.exception("upstream poll failed")


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the app from defaults, ROKU_FEED_CONFIG, ROKU_FEED_* and `config` (tests)."""
    settings = load_config(config)
    app = Flask(__name__)
    app.config.update(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    service = FeedService(_settings(settings), load_channel(settings["CHANNEL_FILE"]))
    app.extensions["roku_feed"] = service
    for blueprint in (feeds.bp, api.bp, ops.bp, pages.bp, openapi.bp):
        app.register_blueprint(blueprint)
    problems.register(app)
    app.after_request(_count_request)
    if settings["REFRESH_ON_START"]:
        # In the background: the last good snapshot is served while sources are read.
        threading.Thread(target=service.refresh, name="refresh-on-start", daemon=True).start()
    if settings["UPSTREAM_URLS"] and settings["POLL_INTERVAL"] > 0:
        threading.Thread(
            target=_poll_forever,
            args=(service, float(settings["POLL_INTERVAL"])),
            name="upstream-poller",
            daemon=True,
        ).start()
    return app
