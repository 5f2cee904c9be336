"""A small Prometheus text-format registry: counters and gauges with labels, thread-safe.

Each worker process counts its own requests (Prometheus sums them when it scrapes each
worker); feed and snapshot gauges are read from the shared snapshot store at scrape time.
"""

from __future__ import annotations

import threading
from collections import defaultdict

Labels = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._help: dict[str, str] = {}

    def inc(self, name: str, help_text: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, help_text)
            self._counters[name][key] += amount

    def series(self, name: str) -> list[tuple[Labels, float]]:
        """Every (labels, value) of one counter."""
        with self._lock:
            return list(self._counters.get(name, {}).items())

    def render(self, gauges: dict[str, tuple[str, float | None]]) -> str:
        """Counters, then the gauges given as name -> (help, value); None values are left out."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._counters):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} counter"]
                for labels, value in sorted(self._counters[name].items()):
                    lines.append(f"{name}{_labels(labels)} {value:g}")
        for name, (help_text, value) in gauges.items():
            if value is not None:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
