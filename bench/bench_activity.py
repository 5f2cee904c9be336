"""What fetch activity adds to one /feed.json answer, measured in-process (no network, no server).

Calls the app's WSGI callable (feeds.FeedServer) for a 304 revalidation, the cheapest and most
frequent answer Roku devices get, in multiprocess mode (value files in a temporary metrics
directory, as under `roku-feed serve`), with the activity count and with it replaced by nothing;
and `activity.count_feed` by itself. Prints microseconds per call (best of 5 rounds).
"""

from __future__ import annotations

import os
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
ROUNDS, CALLS = 5, 20_000


def main() -> None:
    folder = tempfile.mkdtemp(prefix="bench-activity-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    from conftest import make_app, write_content  # after the environment is set

    from roku_feed import activity

    tmp = Path(tempfile.mkdtemp(prefix="bench-activity-app-"))
    app = make_app(tmp, write_content(tmp / "content"))
    app.extensions["publisher"].refresh()
    etag = app.test_client().get("/feed.json").headers["ETag"]
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/feed.json",
        "HTTP_IF_NONE_MATCH": etag,
        "HTTP_USER_AGENT": "Roku/DVP-12.0 (12.0.0.4182-88)",
    }

    def request() -> None:
        app.wsgi_app(environ, lambda status, headers: None)

    def best(call: object) -> float:
        return min(timeit.repeat(call, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6  # type: ignore[arg-type]

    with_activity = best(request)
    count_only = best(lambda: activity.count_feed(1.8e9, 304, environ["HTTP_USER_AGENT"]))
    activity.count_feed, real = (lambda *_: None), activity.count_feed  # type: ignore[assignment]
    without = best(request)
    activity.count_feed = real
    print(f"304 through FeedServer: {with_activity:.2f} us with activity, {without:.2f} us without")
    print(f"activity.count_feed alone: {count_only:.2f} us")


if __name__ == "__main__":
    main()
