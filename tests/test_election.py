"""One publisher across machines, on a real PostgreSQL: the lock, the epoch fence, writes relayed
from any machine to the holder, and servers following publishes by LISTEN/NOTIFY."""

from __future__ import annotations

import threading
import typing as t
from collections.abc import Callable, Iterator

import psycopg
import pytest
from pg import PgServer

from roku_feed.election import Leadership, lock_holders
from roku_feed.errors import ArticleConflictError, LeadershipLostError, PublisherUnavailableError
from roku_feed.follow import Follower
from roku_feed.relay import RelayClient, RelayServer
from roku_feed.store.postgres import LIVE_CHANNEL, upgrade

Connect = Callable[[], "psycopg.Connection[t.Any]"]
WAIT = 30.0  # seconds any awaited event may take on a loaded machine (never reached when it works)


@pytest.fixture
def connect(pg_url: str) -> Connect:
    def open_one() -> psycopg.Connection[t.Any]:
        return psycopg.connect(pg_url, autocommit=True)

    with open_one() as conn:
        upgrade(conn)
    return open_one


class Recorder:
    """A publisher's writer for these tests: answers with who carried the request out."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, dict[str, t.Any]]] = []

    def call(self, op: str, **args: t.Any) -> dict[str, t.Any]:
        self.calls.append((op, args))
        if op == "conflict":
            raise ArticleConflictError("a newer copy is stored", id="a1")
        return {"by": self.name, "op": op, "args": args}


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def leader(connect: Connect) -> Iterator[Callable[[str], Leadership]]:
    """Contenders for the lock by name, each released (its session closed) after the test."""
    made: list[Leadership] = []

    def make(name: str, lease: float = WAIT * 10) -> Leadership:  # unwatched: a lease longer than any test
        made.append(Leadership(connect, name, lease=lease))
        return made[-1]

    yield make
    for one in made:
        one.release()


def _serve(
    connect: Connect, writer: Recorder, leadership: Leadership, stop: threading.Event
) -> threading.Event:
    """Run a RelayServer in a thread until `stop` is set."""
    threading.Thread(target=RelayServer(connect, writer, leadership).serve, args=(stop,), daemon=True).start()


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:  # handed to the test thread to assert on
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_exactly_one_contender_holds_the_lock_and_the_next_takes_over_with_a_new_epoch(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    first, second = leader("machine-a"), leader("machine-b")
    assert first.acquire(stop)
    assert first.epoch == 1
    waiting, took = _in_thread(lambda: second.acquire(stop))
    with connect() as conn:
        assert len(lock_holders(conn)) == 1
        holder = conn.execute("SELECT holder, epoch FROM publisher_epoch").fetchone()
    assert holder == ("machine-a", 1)
    assert waiting.is_alive()  # still asking while the first holds it
    first.release()
    waiting.join(WAIT)
    assert took == [True]
    assert second.epoch == 2
    with connect() as conn:
        assert conn.execute("SELECT holder FROM publisher_epoch").fetchone() == ("machine-b",)


def test_a_replaced_holder_cannot_write_even_before_it_notices(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    old, new = leader("old"), leader("new")
    assert old.acquire(stop)
    with connect() as conn, conn.transaction(), conn.cursor() as cur:
        old.fence(cur)  # the holder's own writes pass
    waiting, took = _in_thread(lambda: new.acquire(stop))
    with connect() as conn:  # the old holder's session dies (a network cut, a server restart)
        conn.execute("SELECT pg_terminate_backend(%s)", (lock_holders(conn)[0],))
    waiting.join(WAIT)
    assert took == [True]
    assert not old.lost.is_set()  # it has not looked yet ...
    with (
        pytest.raises(LeadershipLostError, match="was replaced"),
        connect() as conn,
        conn.transaction(),
        conn.cursor() as cur,
    ):
        old.fence(cur)  # ... and still its write fails
    assert old.lost.is_set()
    with connect() as conn, conn.transaction(), conn.cursor() as cur:
        new.fence(cur)


def test_a_holder_whose_session_dies_stops_writing(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    holder = leader("a")
    assert holder.acquire(stop)
    assert holder.alive()
    holder.watch(stop)
    with connect() as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (lock_holders(conn)[0],))
    assert holder.lost.wait(WAIT)
    assert not holder.alive()
    with pytest.raises(LeadershipLostError), connect() as conn, conn.transaction(), conn.cursor() as cur:
        holder.fence(cur)


def test_a_frozen_holder_loses_the_lock_when_its_lease_runs_out_and_cannot_write_after(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    frozen = leader("frozen", lease=1.0)  # never touched again: a SIGSTOPped process, a cut machine
    assert frozen.acquire(stop)
    successor = leader("successor")
    waiting, took = _in_thread(lambda: successor.acquire(stop))
    waiting.join(WAIT)  # the server ends the idle session, and with it the lock
    assert took == [True] and successor.epoch == frozen.epoch + 1
    assert not frozen.alive()  # what its watcher sees on waking
    with pytest.raises(LeadershipLostError), connect() as conn, conn.transaction(), conn.cursor() as cur:
        frozen.fence(cur)


def test_a_held_lock_outlives_its_lease_while_the_watcher_touches_it(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    holder = leader("busy", lease=2.5)  # over twice CHECK_EVERY, the watcher's interval
    assert holder.acquire(stop)
    holder.watch(stop)
    giving_up = threading.Event()
    waiting, took = _in_thread(lambda: leader("other").acquire(giving_up))
    giving_up.wait(3 * holder.lease)  # time must pass here: three leases, and nobody took over
    giving_up.set()
    waiting.join(WAIT)
    assert took == [False]
    assert holder.alive() and not holder.lost.is_set()


def test_a_write_with_no_publisher_anywhere_is_refused_at_once(connect: Connect) -> None:
    with pytest.raises(PublisherUnavailableError, match="no publisher holds the lock"):
        RelayClient(connect, timeout=WAIT).call("push", articles=[])
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM write_requests").fetchone() == (0,)


def test_a_write_from_any_machine_is_carried_out_by_the_holder(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    holder, writer = leader("a"), Recorder("a")
    assert holder.acquire(stop)
    _serve(connect, writer, holder, stop)
    client = RelayClient(connect, timeout=WAIT)
    assert client.call("push", articles=[{"id": "x"}]) == {
        "by": "a",
        "op": "push",
        "args": {"articles": [{"id": "x"}]},
    }
    with pytest.raises(ArticleConflictError) as raised:  # errors cross back as their own class
        client.call("conflict")
    assert raised.value.status == 409 and raised.value.extra == {"id": "a1"}
    assert [op for op, _ in writer.calls] == ["push", "conflict"]
    with connect() as conn:  # answered requests are removed by their askers
        assert conn.execute("SELECT count(*) FROM write_requests").fetchone() == (0,)


def test_a_request_left_by_a_dead_holder_is_carried_out_by_the_next(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    first, second = leader("a"), leader("b")
    assert first.acquire(stop)  # holds the lock but answers nothing: it is about to die
    asking, answer = _in_thread(lambda: RelayClient(connect, timeout=WAIT).call("refresh"))
    _wait_for_rows(connect, 1)
    first.release()
    assert second.acquire(stop)
    _serve(connect, Recorder("b"), second, stop)
    asking.join(WAIT)
    assert answer == [{"by": "b", "op": "refresh", "args": {}}]


def test_a_request_nobody_answers_in_time_is_a_503_and_withdrawn(
    connect: Connect, stop: threading.Event, leader: Callable[[str], Leadership]
) -> None:
    holder = leader("silent")
    assert holder.acquire(stop)  # holds the lock, never serves requests
    with pytest.raises(PublisherUnavailableError, match=r"did not answer within 0\.5 s"):
        RelayClient(connect, timeout=0.5).call("push", articles=[])
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM write_requests").fetchone() == (0,)


def _wait_for_rows(connect: Connect, count: int) -> None:
    """Until the request table holds `count` rows (a LISTEN on the requests channel wakes it)."""
    with connect() as conn:
        conn.execute("LISTEN roku_feed_requests")
        for _ in range(int(WAIT)):
            if conn.execute("SELECT count(*) FROM write_requests").fetchone() == (count,):
                return
            for _ in conn.notifies(timeout=1.0, stop_after=1):
                pass
    raise AssertionError(f"the request table never held {count} row(s)")


def test_a_server_follows_each_publish(connect: Connect, stop: threading.Event) -> None:
    calls: list[int] = []
    seen = threading.Condition()

    def on_publish() -> None:
        with seen:
            calls.append(1)
            seen.notify_all()

    follower = Follower(connect, on_publish, backstop=WAIT * 10)
    follower.start(stop)
    assert follower.listening.wait(WAIT)
    with seen:
        assert seen.wait_for(lambda: len(calls) >= 1, WAIT)  # the look it takes on (re)connecting
        before = len(calls)
    with connect() as conn:
        conn.execute(f"NOTIFY {LIVE_CHANNEL}, 'snapshot-2'")
    with seen:
        assert seen.wait_for(lambda: len(calls) > before, WAIT)
    assert not follower.down


def test_with_the_database_down_writes_are_503_and_servers_catch_up_when_it_returns() -> None:
    server = PgServer()  # a server of its own: this test stops it
    server.start()
    stop = threading.Event()
    try:
        url = server.url("postgres")

        def connect() -> psycopg.Connection[t.Any]:
            return psycopg.connect(url, autocommit=True, connect_timeout=5)

        with connect() as conn:
            upgrade(conn)
        looks = threading.Semaphore(0)
        follower = Follower(connect, looks.release, backstop=0.2)
        follower.start(stop)
        assert looks.acquire(timeout=WAIT)
        server.pause()
        with pytest.raises(PublisherUnavailableError, match="database"):
            RelayClient(connect, timeout=WAIT).call("push", articles=[])
        assert follower.fell.wait(WAIT)
        assert follower.down and follower.error
        server.resume()
        assert follower.listening.wait(WAIT)
        while looks.acquire(blocking=False):  # looks from before the restart
            pass
        assert looks.acquire(timeout=WAIT)  # it looks again once it is back
        assert not follower.down
    finally:
        stop.set()
        server.stop()
