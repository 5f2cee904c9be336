"""Who fetched the channel feed, by hour: the console's fetch activity, the same from every worker.

Servers keep no shared application state, but every process already writes its Prometheus values
to a file of its own in the metrics directory. Fetch activity lives there the same way: each
process counts its /feed.json answers in `activity_<pid>.mmap`, a prometheus_client MmapedDict
(the library's own file of doubles) with a fixed set of keys: one per hour slot (48, reused as
hours pass: the slot's timestamp says which hour it holds), status class (200, 304, other) and
client family (roku, browser, other), plus the process's last Roku fetch and start. A request
rewrites a few bytes in place. The file is allocated at 64 KiB when the process starts, as
roku_feed.metrics allocates its value files, and its ~17 KiB of keys never outgrow it. `read`
merges every process's file, keeps the last 48 hours, and removes the files of exited processes
once they hold nothing within them. Without a metrics directory (tests, embedded use) the
counts stay in this process.
"""

from __future__ import annotations

import functools
import os
import threading
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

from roku_feed import metrics

WINDOW_HOURS = 48
STATUS_CLASSES = ("200", "304", "other")
FAMILIES = ("roku", "browser", "other")
SUFFIX = ".mmap"  # not *.db: prometheus_client's collector would read these as metrics
#: Browser engines' tokens; every browser's user agent starts "Mozilla/5.0 (...)" and names one.
_BROWSERS = ("chrome/", "firefox/", "safari/", "edg/", "opr/", "gecko/")


@functools.lru_cache(maxsize=512)
def family(user_agent: str) -> str:
    """`roku` for Roku devices ("Roku/DVP-12.0 (...)", "Roku4640X/DVP-7.70 (...)": the OS's HTTP
    client names itself), `browser` for web browsers, `other` for the rest (curl, monitors, bots);
    cached, as the clients of one channel send few distinct values."""
    lowered = user_agent.lower()
    if "roku" in lowered:
        return "roku"
    if lowered.startswith("mozilla/") and any(token in lowered for token in _BROWSERS):
        return "browser"
    return "other"


def status_class(status: int) -> str:
    return str(status) if status in (200, 304) else "other"


class _Memory:
    """MmapedDict's interface over a dict: the counts of a process without a metrics directory."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[float, float]] = {}

    def read_value(self, key: str) -> tuple[float, float]:
        return self.values.get(key, (0.0, 0.0))

    def write_value(self, key: str, value: float, timestamp: float) -> None:
        self.values[key] = (value, timestamp)


class Recorder:
    """One process's counts; thread-safe (granian may answer in several threads)."""

    def __init__(self, store: MmapedDict | _Memory, now: float) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._keys: dict[tuple[int, str, str], str] = {}
        self._roku_second = 0
        with self._lock:
            if store.read_value("started")[0] == 0:
                store.write_value("started", now, now)

    def count(self, now: float, status: int, kind: str) -> bool:
        """One feed answer at `now` (epoch seconds) to a client of family `kind`; True when it is
        a Roku fetch in a second not recorded yet (the last Roku fetch is kept to the second)."""
        hour = int(now // 3600)
        slot = (hour % WINDOW_HOURS, status_class(status), kind)
        key = self._keys.get(slot)
        if key is None:
            key = self._keys.setdefault(slot, f"{slot[0]} {slot[1]} {slot[2]}")
        with self._lock:
            value, stamp = self.store.read_value(key)
            self.store.write_value(key, value + 1 if stamp == hour else 1, hour)
            if kind != "roku" or int(now) == self._roku_second:
                return False
            self._roku_second = int(now)
            self.store.write_value("roku", now, now)
            return True


_lock = threading.Lock()
_recorder: tuple[str | None, Recorder] | None = None


def recorder(now: float) -> Recorder:
    """This process's recorder, in the metrics directory it writes to now (made on first use)."""
    global _recorder
    folder = os.environ.get(metrics.ENV)
    held = _recorder
    if held is not None and held[0] == folder:
        return held[1]
    with _lock:
        if _recorder is None or _recorder[0] != folder:
            store: MmapedDict | _Memory = _Memory()
            if folder:
                path = Path(folder) / f"activity_{os.getpid()}{SUFFIX}"
                metrics.allocate(path)  # its 432 keys fit: a full disk later cannot SIGBUS a request
                store = MmapedDict(str(path))
            _recorder = (folder, Recorder(store, now))
        return _recorder[1]


def count_feed(now: float, status: int, user_agent: str) -> None:
    """Count one /feed.json answer: here for the console, and in Prometheus by class and family."""
    kind = family(user_agent)
    if recorder(now).count(now, status, kind):
        metrics.roku_fetch(now)
    metrics.count_feed_request(status_class(status), kind)


@dataclass
class Activity:
    """Fetch activity of the last WINDOW_HOURS hours, every process merged."""

    hours: list[tuple[int, dict[str, int]]]  # (hour as epoch hours, counts by status class), oldest first
    families: dict[str, int]
    last_roku: float | None
    started: float | None  # when the oldest process still on record started counting
    processes: dict[int, int] = field(default_factory=dict)  # pid -> its feed answers in the window

    def silent_for(self, now: float) -> float:
        """Seconds since a Roku device last fetched (since counting began, when none has)."""
        since = self.last_roku if self.last_roku is not None else self.started
        return max(0.0, now - since) if since is not None else 0.0

    def roku_overdue(self, now: float, after: float) -> bool:
        """No Roku fetch for `after` seconds (0: never warn)."""
        return after > 0 and self.silent_for(now) >= after


def _values(folder: str | None) -> t.Iterator[tuple[int, list[tuple[str, float, float]]]]:
    """(pid, its values) of every process's activity file; this process's own when there is no folder."""
    if not folder:
        held = _recorder
        if held is not None and isinstance(held[1].store, _Memory):
            yield os.getpid(), [(k, v, ts) for k, (v, ts) in held[1].store.values.items()]
        return
    for path in Path(folder).glob(f"activity_*{SUFFIX}"):
        try:
            pid = int(path.name.removeprefix("activity_").removesuffix(SUFFIX))
            values = [(k, v, ts) for k, v, ts, _ in MmapedDict.read_all_values_from_file(str(path))]
        except (OSError, ValueError):  # gone meanwhile, or not ours
            continue
        yield pid, values


def read(now: float) -> Activity:
    """The merged activity at `now`, pruning exited processes' files that hold nothing recent."""
    hour = int(now // 3600)
    first = hour - WINDOW_HOURS + 1
    counts = {h: dict.fromkeys(STATUS_CLASSES, 0) for h in range(first, hour + 1)}
    families = dict.fromkeys(FAMILIES, 0)
    last_roku: float | None = None
    started: float | None = None
    processes: dict[int, int] = {}
    folder = os.environ.get(metrics.ENV)
    for pid, values in _values(folder):
        recent = False
        for key, value, stamp in values:
            if key == "roku":
                last_roku = max(last_roku or 0.0, value)
                recent = recent or value >= first * 3600
            elif key == "started":
                started = value if started is None else min(started, value)
            elif first <= stamp <= hour:
                _, klass, kind = key.split(" ")
                counts[int(stamp)][klass] += int(value)
                families[kind] += int(value)
                processes[pid] = processes.get(pid, 0) + int(value)
                recent = True
        if folder and not recent and not _alive(pid):
            Path(folder, f"activity_{pid}{SUFFIX}").unlink(missing_ok=True)
    return Activity(sorted(counts.items()), families, last_roku, started, processes)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
