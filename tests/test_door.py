"""Poison pushes, through the real HTTP API of `roku-feed serve`: refused at the door, never stored.

Each test is named after a failure a hostile newsroom system once caused: a push that was
acknowledged and then stopped every later build, could not be deleted, or was silently changed.
After each refusal the channel must still take a good push and publish it on every worker.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Service, article, content_service, fresh_get, module_backend_env, write_content

from roku_feed.validation import validate_feed

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module", params=["local", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One service per storage backend: the door holds the same on both."""
    yield from content_service(tmp_path_factory, "door", workers=2, env=module_backend_env(request))


def story(n: int, **overrides: object) -> dict:
    """conftest's article n (a URL of its own), published on a real date whatever n is."""
    return article(n, **{"published": f"2026-11-{1 + n % 28:02d}T09:00:00+03:30", **overrides})


def push(service: Service, body: object):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return service.write("POST", "/api/v1/articles", data=data, headers=JSON)


def refused(service: Service, body: object, *, status: int = 422) -> list[dict]:
    response = push(service, body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "nothing was stored" in response.json()["detail"]
    return response.json().get("errors") or response.json().get("conflicts")


def fields(errors: list[dict]) -> list[tuple[int, str]]:
    return [(e["index"], e["field"]) for e in errors]


def feed_ids(service: Service) -> set[str]:
    return {item["id"] for item in fresh_get(service.url("/feed.json")).json()["shortFormVideos"]}


def assert_still_publishing(service: Service, n: int) -> None:
    """A good push after the refusal is stored, and every worker serves the feed it built."""
    pushed = push(service, story(n, id=f"after-{n}"))
    assert pushed.status_code == 200, pushed.text
    build = pushed.json()["build"]
    assert build["ok"] and build["live"], build
    service.assert_serving(build["snapshot"])
    feed = fresh_get(service.url("/feed.json")).json()
    assert f"after-{n}" in {item["id"] for item in feed["shortFormVideos"]}
    assert validate_feed(feed).valid


def test_a_blank_id_is_refused_instead_of_stored_under_the_empty_id(service: Service) -> None:
    for blank in (" ", "\t\n", ""):
        assert fields(refused(service, story(30, id=blank))) == [(0, "id")]
    assert_still_publishing(service, 30)


@pytest.mark.parametrize("ident", ["a/b", "a b", "50%", "what?", "a#b", "..", "é"])
def test_an_id_no_route_could_address_is_refused(service: Service, ident: str) -> None:
    errors = refused(service, story(31, id=ident))
    assert fields(errors) == [(0, "id")] and "letters, digits" in errors[0]["message"]


@pytest.mark.parametrize(
    "ident", ["a.b_c~d:e@f!g$h&i'j(k)l*m+n,o;p=q", "007", "x" * 80, " padded-id "], ids=str.strip
)
def test_every_accepted_id_can_be_deleted_through_the_api(service: Service, ident: str) -> None:
    pushed = push(service, story(32, id=ident))
    assert pushed.status_code == 200, pushed.text
    published = pushed.json()["build"]["diff"]["added"]
    service.assert_serving(pushed.json()["build"]["snapshot"])
    assert len(published) == 1 and published[0] in feed_ids(service)
    deleted = service.write("DELETE", f"/api/v1/articles/{ident.strip()}")
    assert deleted.status_code == 200, deleted.text
    service.assert_serving(deleted.json()["build"]["snapshot"])
    assert published[0] not in feed_ids(service)
    again = service.write("DELETE", f"/api/v1/articles/{published[0]}")
    assert again.status_code == 404 and again.json()["type"].endswith("/article-not-found")


@pytest.mark.parametrize("junk", [" ", "\n", "\t", "\x00", "\x7f", "\u2028"], ids=repr)
def test_a_media_url_with_white_space_or_a_control_character_is_refused(service: Service, junk: str) -> None:
    bad = f"https://media.presstv.example/video/a{junk}b.m3u8"
    assert fields(refused(service, story(33, video={"url": bad, "duration": 60}))) == [(0, "video.url")]
    bad_image = {"url": f"https://media.presstv.example/img/a{junk}b.jpg"}
    assert fields(refused(service, story(33, image=bad_image))) == [(0, "image.url")]
    assert_still_publishing(service, 33)


def test_a_huge_title_or_url_is_refused_and_no_build_is_held(service: Service) -> None:
    assert fields(refused(service, story(34, title="x" * 1_000_000))) == [(0, "title")]
    long_url = "https://media.presstv.example/" + "a" * 200_000 + ".m3u8"
    assert fields(refused(service, story(34, video={"url": long_url, "duration": 60}))) == [(0, "video.url")]
    assert_still_publishing(service, 34)
    status = fresh_get(service.url("/api/v1/status")).json()
    assert status["last_build"]["ok"] and status["last_build"]["live"]
    assert status["live"]["status"] == "published"


def test_a_lone_surrogate_in_a_title_or_id_is_refused_not_replaced(service: Service) -> None:
    good = json.dumps(story(35))
    in_title = good.replace('"Story 35"', '"Story \\ud800 35"').encode()
    assert fields(refused(service, in_title)) == [(0, "title")]
    in_id = json.dumps([story(36), story(35, id="x")]).replace('"x"', '"x\\udfff"').encode()
    assert fields(refused(service, in_id)) == [(1, "id")]
    assert "\ufffd" not in fresh_get(service.url("/feed.json")).text


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+03:00", "9999-12-31T23:59:59-03:00", "1969-12-31T23:59:59Z"]
)
def test_a_date_outside_the_supported_range_is_refused(service: Service, moment: str) -> None:
    assert fields(refused(service, story(37, published=moment))) == [(0, "published")]
    assert fields(refused(service, story(37, updated=moment))) == [(0, "updated")]


def test_duplicate_ids_in_one_push_are_refused_not_reduced_to_one(service: Service) -> None:
    errors = refused(service, [story(38, id="twice"), story(39, id="twice")])
    assert fields(errors) == [(1, "id")] and "article 0" in errors[0]["message"]
    assert "twice" not in feed_ids(service)


def test_a_key_given_twice_is_refused_not_guessed(service: Service) -> None:
    body = json.dumps(story(40)).replace('"title": "Story 40"', '"title": "A", "title": "B"').encode()
    assert fields(refused(service, body)) == [(0, "title")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"video": None}, "video"),
        ({"image": None}, "image"),
        ({"video": {"url": "https://media.presstv.example/video/41.m3u8"}}, "video.duration"),
        ({"video": {"url": "https://media.presstv.example/video/41", "duration": 60}}, "video.type"),
        ({"video": {"url": "ftp://media.presstv.example/video/41.m3u8", "duration": 60}}, "video.url"),
        ({"image": {"url": "/img/41.jpg"}}, "image.url"),
        ({"captions": [{"url": "captions.vtt", "language": "en"}]}, "captions[0].url"),
        ({"title": "<p> </p>"}, "title"),
        ({"url": None}, "id"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_what_the_builder_would_skip_is_refused_at_the_door(
    service: Service, change: dict, field: str
) -> None:
    body = {k: v for k, v in {**story(41), **change}.items() if v is not None}
    assert fields(refused(service, body)) == [(0, field)]


def test_numbers_that_are_infinite_or_too_long_are_refused_not_500(service: Service) -> None:
    good = json.dumps(story(42))
    infinite = good.replace('"duration": 90', '"duration": 1e400').encode()
    assert fields(refused(service, infinite)) == [(0, "video.duration")]
    huge_width = json.dumps(
        story(42, image={"url": "https://media.presstv.example/i.jpg", "width": 10**9})
    ).encode()
    assert fields(refused(service, huge_width)) == [(0, "image.width")]
    digits = push(service, good.replace('"duration": 90', '"duration": ' + "9" * 5000).encode())
    assert digits.status_code == 400 and "digits" in digits.json()["detail"], digits.text
    assert_still_publishing(service, 42)


def test_an_older_push_is_a_409_naming_the_stored_time_and_stores_nothing(service: Service) -> None:
    newer = story(43, id="edited", title="Second version", updated="2026-11-25T10:00:00+00:00")
    assert push(service, newer).status_code == 200
    older = story(43, id="edited", title="First version", updated="2026-11-25T09:00:00+00:00")
    conflicts = refused(service, [story(44, id="innocent"), older], status=409)
    assert conflicts == [
        {
            "index": 1,
            "id": "edited",
            "changed": "2026-11-25T09:00:00+00:00",
            "stored_changed": "2026-11-25T10:00:00+00:00",
        }
    ]
    feed = fresh_get(service.url("/feed.json")).json()
    titles = {item["id"]: item["title"] for item in feed["shortFormVideos"]}
    assert titles["edited"] == "Second version" and "innocent" not in titles


def test_a_repeated_push_answers_stored_with_nothing_changed(service: Service) -> None:
    first = push(service, story(45, id="repeated"))
    second = push(service, story(45, id="repeated"))
    assert (first.json()["stored"], first.json()["changed"]) == (1, 1)
    assert (second.json()["stored"], second.json()["changed"]) == (1, 0)


def test_a_same_time_push_edit_of_a_content_file_survives_refresh_and_restart(tmp_path: Path) -> None:
    content = write_content(tmp_path / "content")
    on_disk = json.loads((content / "1.json").read_text())
    edit = {**on_disk, "title": "Corrected by the CMS"}
    service = Service(tmp_path / "var", content, workers=2)
    try:
        service.wait_ready()
        assert push(service, edit).status_code == 200
        refreshed = service.write("POST", "/api/v1/refresh")
        assert refreshed.status_code == 200, refreshed.text
        superseded = [s for s in refreshed.json()["build"]["skipped"] if s["code"] == "superseded"]
        assert [s["source"].rsplit("/", 1)[-1] for s in superseded] == ["1.json"]
        assert "Corrected by the CMS" in fresh_get(service.url("/feed.json")).text
    finally:
        service.stop()
    restarted = Service(tmp_path / "var", content, workers=2)
    try:
        restarted.wait_ready()
        record = restarted.wait_until(
            lambda: (
                (b := fresh_get(restarted.url("/api/v1/status")).json()["last_build"])
                and b["at"] > refreshed.json()["build"]["at"]
                and b
            ),
            "the first build after the restart",
        )
        assert any(s["code"] == "superseded" for s in record["skipped"])
        assert "Corrected by the CMS" in fresh_get(restarted.url("/feed.json")).text
        # the newsroom edits the file with a later time: now the file's copy wins
        (content / "1.json").write_text(
            json.dumps({**on_disk, "title": "Rewritten in the file", "updated": "2026-11-30T12:00:00+00:00"})
        )
        assert restarted.write("POST", "/api/v1/refresh").status_code == 200
        text = fresh_get(restarted.url("/feed.json")).text
        assert "Rewritten in the file" in text and "Corrected by the CMS" not in text
    finally:
        restarted.stop()
