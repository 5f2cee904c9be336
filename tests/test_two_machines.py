"""Two instances of `roku-feed serve` on one PostgreSQL database, as two machines would run them:
one publisher elected between them, writes made on either carried out by it, both serving it,
and the other taking over when the publishing one is killed."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Service, article, fresh_get, write_content

JSON = {"Content-Type": "application/json"}


def titles(service: Service) -> set[str]:
    response = fresh_get(service.url("/feed.json"))
    return {item["title"] for item in response.json().get("shortFormVideos", [])} if response.ok else set()


@pytest.fixture
def machines(tmp_path: Path, pg_url: str) -> Iterator[tuple[Service, Service]]:
    content = write_content(tmp_path / "newsroom")  # a folder both machines read, as a share would be
    env = {"ROKU_FEED_DATABASE_URL": pg_url}
    for machine in ("a", "b"):
        (tmp_path / machine).mkdir()
    first = Service(tmp_path / "a" / "var", content, workers=1, env=env)
    second = None
    try:
        first.wait_ready()  # alone, so the first machine holds the lock and has published
        second = Service(tmp_path / "b" / "var", content, workers=1, env=env)
        second.wait_ready()
        yield first, second
    finally:
        for service in (first, second):
            if service is not None:
                service.stop()


def test_a_push_to_either_machine_is_published_once_and_served_by_both(machines) -> None:
    first, second = machines
    assert titles(first) == titles(second) == {f"Story {n}" for n in range(1, 6)}
    pushed = second.write(
        "POST", "/api/v1/articles", data=json.dumps([article(7, id="story-7")]), headers=JSON
    )
    assert pushed.status_code in (200, 201), pushed.text
    for service in (first, second):
        service.wait_until(lambda s=service: "Story 7" in titles(s), "the push served")
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
