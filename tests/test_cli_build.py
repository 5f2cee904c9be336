"""`roku-feed build`: the command-line shell over sources and builder, with its exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import article, stderr_of

from roku_feed.validation import validate_feed


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    (folder / "iran").mkdir(parents=True)
    for n in range(1, 4):
        (folder / "iran" / f"{n}.json").write_text(json.dumps(article(n)), encoding="utf-8")
    (folder / "novideo.json").write_text(json.dumps(article(9, video=None)), encoding="utf-8")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "list.json").write_text(json.dumps([article(4), {"title": "no date"}]), encoding="utf-8")
    return folder


def test_build_writes_a_valid_feed_and_a_report(run_cli, articles_dir: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "out" / "feed.json", tmp_path / "report.json"
    result = run_cli("build", str(articles_dir), "-o", str(out), "--report", str(report))
    assert result.exit_code == 0, result.stderr
    feed = json.loads(out.read_text(encoding="utf-8"))
    assert validate_feed(feed).valid
    assert len(feed["shortFormVideos"]) == 4
    data = json.loads(report.read_text(encoding="utf-8"))
    assert set(data) == {"accepted", "skipped", "warnings"}
    assert data["accepted"] == [i["id"] for i in feed["shortFormVideos"]]
    skipped = {(s["code"], Path(s["source"].split(" ")[0]).name) for s in data["skipped"]}
    assert skipped == {
        ("invalid-article", "list.json"),
        ("no-video", "novideo.json"),
        ("unreadable-file", "broken.json"),
    }
    assert all({"source", "code", "message"} <= s.keys() for s in data["skipped"])
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{out}: 4 item(s), ") and "3 skipped" in lines[0]
    assert sorted(line.split()[-1] for line in lines[1:]) == [
        "invalid-article",
        "no-video",
        "unreadable-file",
    ]


def test_invalid_article_message_names_field_and_source(run_cli, articles_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run_cli("build", str(articles_dir), "-o", str(tmp_path / "f.json"), "--report", str(report))
    [invalid] = [s for s in json.loads(report.read_text())["skipped"] if s["code"] == "invalid-article"]
    assert invalid["source"].endswith("list.json [1]")
    assert "published" in invalid["message"] and "Missing data" in invalid["message"]


def test_nothing_publishable_exits_1_and_keeps_the_old_feed(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "x.json").write_text(json.dumps(article(1, video=None)), encoding="utf-8")
    out = tmp_path / "feed.json"
    out.write_text("previous feed", encoding="utf-8")
    report = tmp_path / "report.json"
    result = run_cli("build", str(folder), "-o", str(out), "--report", str(report))
    assert result.exit_code == 1
    assert "no publishable article" in result.stderr
    assert out.read_text(encoding="utf-8") == "previous feed"
    assert json.loads(report.read_text())["skipped"][0]["code"] == "no-video"


@pytest.mark.parametrize(
    ("make_args", "reason"),
    [
        (lambda d, t: ["build", str(t / "missing"), "-o", str(t / "f.json")], "no such file or directory"),
        (
            lambda d, t: ["build", str(d), "-o", str(t / "f.json"), "--channel", str(t / "nope.json")],
            "cannot read channel config",
        ),
        (lambda d, t: ["build", str(d / "broken.json"), "-o", str(t / "f.json")], "not JSON"),
    ],
    ids=["missing-source", "missing-channel", "named-file-broken"],
)
def test_unusable_input_exits_2(run_cli, articles_dir: Path, tmp_path: Path, make_args, reason: str) -> None:
    result = run_cli(*make_args(articles_dir, tmp_path))
    assert result.exit_code == 2
    assert reason in result.stderr and result.stderr.count("\n") == 1


def test_channel_config_typos_are_refused(run_cli, articles_dir: Path, tmp_path: Path) -> None:
    channel = tmp_path / "channel.json"
    channel.write_text(json.dumps({"provider_nam": "Press TV", "latest_size": 0}), encoding="utf-8")
    result = run_cli("build", str(articles_dir), "-o", str(tmp_path / "f.json"), "--channel", str(channel))
    assert result.exit_code == 2
    assert "provider_nam" in result.stderr and "latest_size" in result.stderr


def test_build_help_documents_exit_codes(run_cli) -> None:
    text = run_cli("build", "--help").stdout
    assert "0  a valid feed was written" in text and "2  unusable input" in text
    for option in ("--output", "--channel", "--search-feed", "--report", "--state-dir"):
        assert option in text


def test_search_feed_is_written_beside_the_feed(run_cli, articles_dir: Path, tmp_path: Path) -> None:
    from roku_feed.validation import validate_search_feed

    out, search = tmp_path / "feed.json", tmp_path / "search.json"
    assert run_cli("build", str(articles_dir), "-o", str(out), "--search-feed", str(search)).exit_code == 0
    feed, assets = json.loads(out.read_text()), json.loads(search.read_text())
    assert validate_search_feed(assets).valid
    assert [a["id"] for a in assets["assets"]] == [i["id"] for i in feed["shortFormVideos"]]


def _build_with_stderr(folder: Path, out: Path, *, tty: bool) -> str:
    command = [str(Path(sys.executable).with_name("roku-feed")), "build", str(folder), "-o", str(out)]
    return stderr_of(command, tty=tty)


def test_progress_bar_only_for_a_person_watching_a_large_source(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(1, 221):
        (folder / f"{n:03d}.json").write_text(json.dumps(article(n % 20 + 1, url=f"https://e.org/a/{n}")))
    assert "Reading sources" in _build_with_stderr(folder, tmp_path / "a.json", tty=True)
    assert "Reading sources" not in _build_with_stderr(folder, tmp_path / "b.json", tty=False)


def test_build_on_a_full_disk_stops_in_one_line_without_a_traceback(
    run_cli, articles_dir: Path, tmp_path: Path, tmpfs
) -> None:
    disk = tmpfs(tmp_path / "out", "1m")
    disk.fill()
    result = run_cli("build", str(articles_dir), "-o", str(disk.path / "feed.json"))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "cannot write" in result.stderr and "No space left on device" in result.stderr
    assert not (disk.path / "feed.json").exists()
    assert [p.name for p in disk.path.iterdir()] == ["filler"]  # no temp file left behind


def test_build_into_a_read_only_folder_stops_in_one_line(
    run_cli, articles_dir: Path, tmp_path: Path, tmpfs
) -> None:
    disk = tmpfs(tmp_path / "out", "1m")
    disk.read_only()
    result = run_cli("build", str(articles_dir), "-o", str(disk.path / "feed.json"))
    assert result.exit_code == 2 and "Read-only file system" in result.stderr
