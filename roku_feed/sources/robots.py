"""robots.txt, read once per host per crawl and obeyed with the project's user agent.

Protego parses and matches the rules (Google's and RFC 9309's reading: longest match wins,
`*` and `$` patterns, Crawl-delay). As RFC 9309 asks, a robots.txt that is not there (a 4xx
answer) allows everything, and one that cannot be fetched (a 5xx answer, a timeout, a refused
address) allows nothing: the site may be down, and crawling it then is what robots.txt forbids.
"""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Callable
from urllib.parse import urlsplit

from roku_feed.errors import FetchError
from roku_feed.net import USER_AGENT

#: RFC 9309 asks crawlers to read at least the first 500 KiB.
MAX_ROBOTS_BYTES = 512 * 1024


class _Rules(t.Protocol):
    def can_fetch(self, url: str, user_agent: str) -> bool: ...

    def crawl_delay(self, user_agent: str) -> float | None: ...


class _Nothing:
    """The rules of a host whose robots.txt could not be fetched: nothing may be crawled."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def can_fetch(self, url: str, user_agent: str) -> bool:
        return False

    def crawl_delay(self, user_agent: str) -> float | None:
        return None


class Robots:
    """Whether a URL may be crawled; `get(url)` fetches a body (bytes) through roku_feed.net."""

    def __init__(self, get: Callable[[str], bytes], user_agent: str = USER_AGENT) -> None:
        self._get = get
        self.user_agent = user_agent
        self._rules: dict[str, _Rules] = {}
        self._lock = threading.Lock()

    def _for(self, url: str) -> _Rules:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        with self._lock:  # one fetch of robots.txt per host, whichever thread asks first
            found = self._rules.get(origin)
            if found is None:
                found = self._rules[origin] = self._read(origin + "/robots.txt")
        return found

    def _read(self, robots_url: str) -> _Rules:
        from protego import Protego

        try:
            body = self._get(robots_url)
        except FetchError as exc:
            status = exc.extra.get("upstream_status")
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return Protego.parse("")
            return _Nothing(f"{robots_url} could not be fetched ({exc.detail}), so nothing on the host is")
        return Protego.parse(body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace"))

    def refusal(self, url: str) -> str | None:
        """Why robots.txt forbids crawling `url`, or None when it allows it."""
        rules = self._for(url)
        if rules.can_fetch(url, self.user_agent):
            return None
        if isinstance(rules, _Nothing):
            return f"{url}: not fetched: {rules.reason}"
        return f"{url}: not fetched: robots.txt disallows it for {self.user_agent.split('/')[0]}"

    def delay(self, url: str) -> float:
        """The Crawl-delay robots.txt asks of us on this URL's host (0 when none)."""
        return self._for(url).crawl_delay(self.user_agent) or 0.0
