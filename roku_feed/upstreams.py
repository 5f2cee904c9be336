"""Health of polled upstream URLs, with exponential backoff after failures.

Only the publisher polls; it writes the health of every upstream to the data directory after
each poll, so every server answers `/api/v1/status` alike.
"""

from __future__ import annotations

import random
import time
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime


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
        return {
            "url": self.url,
            "healthy": self.failures == 0,
            "last_ok": self.last_ok.isoformat() if self.last_ok else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "consecutive_failures": self.failures,
        }
