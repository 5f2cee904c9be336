"""Two instances of `roku-feed serve` on one PostgreSQL database, as two machines would run them:
one publisher elected between them, writes made on either carried out by it, both serving it
(learnt by LISTEN/NOTIFY, each machine's static directory too), the other taking over when the
publishing one is killed, and both serving through a database outage and catching up after it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Service, article, fresh_get, write_content
from pg import PgServer

JSON = {"Content-Type": "application/json"}
#: Servers look at the live row without being told only this often: far longer than any test
#: waits, so a publish they serve in time was learnt by its NOTIFY.
NO_BACKSTOP = "3600"


def titles(service: Service) -> set[str]:
    response = fresh_get(service.url("/feed.json"))
    return {item["title"] for item in response.json().get("shortFormVideos", [])} if response.ok else set()


def static_feed(service: Service) -> bytes | None:
    """The machine's static copy of the feed (what its nginx would serve), or None."""
    with contextlib.suppress(OSError):
        return (service.data_dir.parent / "public" / "feed.json").read_bytes()
    return None


@contextlib.contextmanager
def two_machines(
    root: Path, url: str, *, workers: int = 1, together: bool = False
) -> Iterator[tuple[Service, Service]]:
    """Machines a and b on `url`; a is ready before b starts (so a publishes) unless `together`."""
    content = write_content(root / "newsroom")  # a folder both machines read, as a share would be
    started: list[Service] = []

    def machine(name: str) -> Service:
        (root / name).mkdir()
        env = {
            "ROKU_FEED_DATABASE_URL": url,
            "ROKU_FEED_STATIC_DIR": str(root / name / "public"),
            "ROKU_FEED_FOLLOW_BACKSTOP": NO_BACKSTOP,
        }
        service = Service(root / name / "var", content, workers=workers, env=env)
        started.append(service)
        if not together:
            service.wait_ready()
        return service

    try:
        pair = machine("a"), machine("b")
        for service in pair:
            service.wait_ready()
        yield pair
    finally:
        for service in started:
            service.stop()


@pytest.fixture
def machines(tmp_path: Path, pg_url: str) -> Iterator[tuple[Service, Service]]:
    with two_machines(tmp_path, pg_url) as pair:
        yield pair


def test_a_push_to_either_machine_is_published_once_and_served_by_both(machines) -> None:
    first, second = machines
    assert titles(first) == titles(second) == {f"Story {n}" for n in range(1, 6)}
    pushed = second.write(
        "POST", "/api/v1/articles", data=json.dumps([article(7, id="story-7")]), headers=JSON
    )
    assert pushed.status_code in (200, 201), pushed.text
    for service in (first, second):
        service.wait_until(lambda s=service: "Story 7" in titles(s), "the push served (told by NOTIFY)")
        served = fresh_get(service.url("/feed.json")).content
        service.wait_until(lambda s=service, b=served: static_feed(s) == b, "the static copy following")
    # each machine's nginx makes its ETag from the file's mtime and size: the same on both
    stamps = {(s.data_dir.parent / "public" / "feed.json").stat().st_mtime for s in (first, second)}
    assert len(stamps) == 1
    gone = first.write("DELETE", "/api/v1/articles/story-7")
    assert gone.status_code in (200, 204), gone.text
    for service in (first, second):
        service.wait_until(lambda s=service: "Story 7" not in titles(s), "the delete served")


def test_when_the_publishing_machine_dies_the_other_takes_over_and_readers_see_only_whole_feeds(
    machines,
) -> None:
    first, second = machines
    answers: list[int] = []
    stop = threading.Event()

    def read() -> None:  # a Roku device on the second machine, all through the failover
        while not stop.is_set():
            response = fresh_get(second.url("/feed.json"))
            answers.append(response.status_code)
            if response.status_code == 200:
                assert json.loads(response.content)["providerName"]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    os.killpg(first.proc.pid, signal.SIGKILL)  # the whole first machine, publisher included
    first.proc.wait()

    def pushed() -> bool:
        answer = second.write("POST", "/api/v1/articles", data=json.dumps([article(8)]), headers=JSON)
        return answer.status_code in (200, 201)

    second.wait_until(pushed, "the second machine to take pushes")
    second.wait_until(lambda: "Story 8" in titles(second), "the push served by the new publisher")
    stop.set()
    reader.join(30)
    assert answers and set(answers) <= {200, 304}, sorted(set(answers))


def readiness(service: Service) -> dict[int, dict]:
    """/readyz of each of the machine's workers."""
    return service.worker_views()


def test_with_the_database_stopped_both_serve_the_last_feed_and_catch_up_when_it_returns(
    tmp_path: Path,
) -> None:
    server = PgServer()  # a server of its own: this test stops it
    server.start()
    try:
        server.sql("CREATE DATABASE channel TEMPLATE template0")
        with two_machines(tmp_path, server.url("channel"), workers=2) as pair:
            held = {s.port: fresh_get(s.url("/feed.json")) for s in pair}
            assert all(r.status_code == 200 for r in held.values())
            for service in pair:
                assert {v["database"] for v in readiness(service).values()} == {"up"}
            server.pause()
            try:
                for service in pair:  # every worker of each machine notices, and stays ready
                    service.wait_until(
                        lambda s=service: {v.get("database") for v in readiness(s).values()} == {"down"},
                        "every worker to see the database down",
                    )
                    metrics = fresh_get(service.url("/metrics")).text
                    assert "roku_feed_database_up 0.0" in metrics
                    for _ in range(2 * service.workers):  # fresh connections: any worker answers
                        whole = fresh_get(service.url("/feed.json"))
                        assert whole.status_code == 200 and whole.content == held[service.port].content
                        etag = {"If-None-Match": held[service.port].headers["ETag"]}
                        assert fresh_get(service.url("/feed.json"), headers=etag).status_code == 304
                    refused = service.write(
                        "POST", "/api/v1/articles", data=json.dumps([article(9)]), headers=JSON
                    )
                    assert refused.status_code == 503, refused.text
                    assert refused.headers["Content-Type"].startswith("application/problem+json")
                    assert refused.json()["type"].rsplit("/", 1)[-1] in (
                        "database-unavailable",
                        "publisher-unavailable",
                    )
            finally:
                server.resume()
            second = pair[1]
            for service in pair:
                service.wait_until(
                    lambda s=service: {v.get("database") for v in readiness(s).values()} == {"up"},
                    "every worker to see the database back",
                )

            def pushed() -> bool:  # once a publisher holds the lock again
                answer = second.write("POST", "/api/v1/articles", data=json.dumps([article(9)]), headers=JSON)
                return answer.status_code in (200, 201)

            second.wait_until(pushed, "a push accepted after the outage", timeout=60)
            for service in pair:
                service.wait_until(lambda s=service: "Story 9" in titles(s), "the push served after it")
                served = fresh_get(service.url("/feed.json")).content
                service.wait_until(lambda s=service, b=served: static_feed(s) == b, "static caught up")
                assert "roku_feed_database_up 1.0" in fresh_get(service.url("/metrics")).text
    finally:
        server.stop()


def test_two_machines_started_at_the_same_moment_on_an_empty_database_migrate_once(
    tmp_path: Path, pg_url: str
) -> None:
    import psycopg

    from roku_feed.store.postgres import MIGRATIONS, status

    with two_machines(tmp_path, pg_url, together=True) as pair:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            steps = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
            holders = status(conn)["publisher"]
        assert steps == list(range(1, len(MIGRATIONS) + 1))  # each step applied once, by one of them
        assert len(holders) == 1  # and one publisher between them
        served = {fresh_get(s.url("/feed.json")).headers["ETag"] for s in pair}
        assert len(served) == 1
