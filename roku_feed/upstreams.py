"""Health of polled upstream URLs, with exponential backoff after failures.

Only the publisher polls; it writes the health of every upstream to the store after each poll,
so every server answers `/api/v1/status` alike, and a publisher that starts (after a restart, or
on another machine taking over) goes on from it: a failing upstream keeps its backoff.
"""

from __future__ import annotations

import random
import time
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass
class Upstream:
    """One polled URL: when it last worked, why it last failed, and when to try again."""

    url: str
    last_ok: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0
    next_attempt: float = 0.0  # time.monotonic() before which we do not try again

    def due(self, now: float) -> bool:
        return now >= self.next_attempt

    def succeeded(self) -> None:
        self.last_ok, self.failures, self.next_attempt = datetime.now(UTC), 0, 0.0

    def failed(self, message: str, *, base: float, cap: float) -> None:
        self.failures += 1
        self.last_error, self.last_error_at = message, datetime.now(UTC)
        delay = min(cap, base * 2 ** (self.failures - 1))
        self.next_attempt = time.monotonic() + delay * random.uniform(0.5, 1.0)  # jitter

    def to_dict(self) -> dict[str, t.Any]:
        retry = self.next_attempt - time.monotonic()
        return {
            "url": self.url,
            "healthy": self.failures == 0,
            "last_ok": self.last_ok.isoformat() if self.last_ok else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "consecutive_failures": self.failures,
            "retry_at": (datetime.now(UTC) + timedelta(seconds=retry)).isoformat() if retry > 0 else None,
        }

    @classmethod
    def resumed(cls, url: str, record: t.Any) -> Upstream:
        """The upstream as a record written by `to_dict` left it (by any publisher); a record that
        is missing, for another URL or not in that shape starts it afresh."""
        upstream = cls(url)
        if not isinstance(record, dict) or record.get("url") != url:
            return upstream
        try:
            failures = record.get("consecutive_failures", 0)
            upstream.failures = failures if isinstance(failures, int) and failures >= 0 else 0
            upstream.last_ok = _when(record.get("last_ok"))
            error = record.get("last_error")
            upstream.last_error = error if isinstance(error, str) else None
            upstream.last_error_at = _when(record.get("last_error_at"))
            retry_at = _when(record.get("retry_at"))
        except ValueError:
            return cls(url)
        if retry_at is not None:
            upstream.next_attempt = time.monotonic() + (retry_at - datetime.now(UTC)).total_seconds()
        return upstream


def _when(value: t.Any) -> datetime | None:
    """An aware ISO 8601 time from a record, or None; ValueError for anything else."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment
