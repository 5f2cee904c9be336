"""Hostile content files: each one is skipped with its reason, and the rest of the channel publishes.

Every case here once raised something other than roku_feed's own errors (or ran for minutes),
or was read as an article whose item then failed every build: either stopped `roku-feed build`
and every refresh of the service.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Service, article, fresh_get, make_app, write_content

FENCE = "---"


def front_matter(yaml_text: str) -> str:
    """A website-layout article whose front matter is `yaml_text`, after a valid start."""
    head = (
        "url: https://www.presstv.example/Detail/2026/11/21/1/hostile\n"
        "published: 2026-11-21T08:00:00+03:00\n"
        "image: {url: 'https://media.presstv.example/img/h.jpg'}\n"
    )
    return f"{FENCE}\n{head}{yaml_text}\n{FENCE}\nNews / Iran\n\nA title\n\nA body paragraph.\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """About 1 KB of YAML whose aliases stand for width**levels strings once expanded."""
    lines = ['a0: &a0 "lol"']
    for n in range(1, levels + 1):
        refs = ", ".join([f"*a{n - 1}"] * width)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines)


HOSTILE = {
    "alias-bomb.md": (front_matter(alias_bomb()), "unreadable-file", "YAML aliases"),
    "recursive-alias.md": (front_matter("tags: &a [1, *a]"), "unreadable-file", "inside its own anchor"),
    "huge-front-matter.md": (front_matter("summary: '" + "x" * 70_000 + "'"), "unreadable-file", "over the"),
    "infinite-duration.md": (
        front_matter("video: {url: 'https://media.presstv.example/v.m3u8', duration: .inf}"),
        "invalid-article",
        "duration",
    ),
    "nan-duration.md": (
        front_matter("video: {url: 'https://media.presstv.example/v.m3u8', duration: .nan}"),
        "invalid-article",
        "duration",
    ),
    "overflowing-number.json": (
        json.dumps(article(7)).replace('"duration": 90', '"duration": 1e400'),
        "invalid-article",
        "duration",
    ),
    "blank-id.json": (json.dumps(article(9, id="  ")), "invalid-article", "id: Empty"),
    "slash-id.json": (json.dumps(article(10, id="a/b")), "invalid-article", "id: Use letters"),
    "spaced-video-url.json": (
        json.dumps(article(11, video={"url": "https://media.presstv.example/a b.m3u8", "duration": 9})),
        "invalid-article",
        "video.url: Contains white space",
    ),
    "huge-title.json": (json.dumps(article(12, title="x" * 1_000_000)), "invalid-article", "title: Length"),
    "year-9999.json": (
        json.dumps(article(13, published="9999-12-31T00:00:00+00:00")),
        "invalid-article",
        "published: Outside the supported range",
    ),
    "lone-surrogate.json": (
        json.dumps(article(14)).replace('"Story 14"', '"Story \\ud800"'),
        "invalid-article",
        "title: Contains a lone surrogate",
    ),
    "4301-digit-number.json": (
        json.dumps(article(8)).replace('"duration": 90', '"duration": ' + "9" * 4301),
        "unreadable-file",
        "",
    ),
}


def hostile_content(folder: Path) -> Path:
    content = write_content(folder)  # five good articles
    for name, (text, _, _) in HOSTILE.items():
        (content / name).write_text(text, encoding="utf-8")
    return content


def reasons(skipped: list[dict]) -> dict[str, tuple[str, str]]:
    return {s["source"].rsplit("/", 1)[-1]: (s["code"], s["message"]) for s in skipped}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_roku_feed_build_skips_the_hostile_file_and_publishes_the_rest(tmp_path, run_cli, name) -> None:
    content = write_content(tmp_path / "content")
    text, code, words = HOSTILE[name]
    (content / name).write_text(text, encoding="utf-8")
    report = tmp_path / "report.json"
    result = run_cli("build", str(content), "-o", str(tmp_path / "feed.json"), "--report", str(report))
    assert result.exit_code == 0, result.stderr
    built = json.loads(report.read_text())
    assert len(built["accepted"]) == 5
    got_code, message = reasons(built["skipped"])[name]
    assert got_code == code and words in message


def test_the_service_skips_them_all_and_publishes_the_rest(tmp_path) -> None:
    app = make_app(tmp_path, hostile_content(tmp_path / "content"))
    record = app.extensions["publisher"].refresh()
    assert record.ok and record.live and record.accepted == 5
    skipped = reasons(app.test_client().get("/api/v1/status").json["last_build"]["skipped"])
    assert {name: skipped[name][0] for name in HOSTILE} == {name: c for name, (_, c, _) in HOSTILE.items()}


def test_refresh_over_http_answers_200_and_status_names_every_hostile_file(tmp_path) -> None:
    """Once, every POST /api/v1/refresh answered 500 while /api/v1/status showed the old build as fine."""
    service = Service(tmp_path / "var", write_content(tmp_path / "content"), workers=2)
    try:
        service.wait_ready()
        for name, (text, _, _) in HOSTILE.items():
            (tmp_path / "content" / name).write_text(text, encoding="utf-8")
        refreshed = service.write("POST", "/api/v1/refresh")
        assert refreshed.status_code == 200, refreshed.text
        build = refreshed.json()["build"]
        assert build["ok"] and build["accepted"] == 5
        status = fresh_get(service.url("/api/v1/status")).json()["last_build"]
        assert {name: code for name, (code, _) in reasons(status["skipped"]).items()} == {
            name: code for name, (_, code, _) in HOSTILE.items()
        }
        assert status["at"] == build["at"]
    finally:
        service.stop()


def test_a_named_hostile_file_stops_the_build_in_one_line(tmp_path, run_cli) -> None:
    hostile = tmp_path / "4301-digit-number.json"
    hostile.write_text(HOSTILE[hostile.name][0], encoding="utf-8")
    result = run_cli("build", str(hostile), "-o", str(tmp_path / "feed.json"))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert str(hostile) in result.stderr and len(result.stderr.strip().splitlines()) == 1
