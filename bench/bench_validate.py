"""Benchmark of `roku-feed validate` on large, realistic feeds: a clean one and one full of warnings.

The channel publishes thousands of short news clips and validates the feed on every rebuild
and in CI, so validation must stay cheap as the catalog grows, and as the findings grow: a
feed written like Roku's own samples (`Z` offsets, no rating, MP4 without bitrate) carries the
same three warnings on every item. This builds both feeds with N shortFormVideos, times the
validator in-process (whole `validate_feed`, schema pass, rule pass, and the pure-Python
`jsonschema` package for reference) and as whole processes (`roku-feed validate` against
`check-jsonschema` on the same file, plus the CLI's start-up), checks the targets, prints a
Markdown table and, with --write-readme, rewrites the results section of bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
import typing as t
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
from benchlib import ROOT, machine, run_launched, write_results

from roku_feed import positions
from roku_feed.loading import parse_feed
from roku_feed.positions import locate, walk_locate
from roku_feed.validation import load_schema, validate_feed
from roku_feed.validation.rule_pass import rule_findings
from roku_feed.validation.schema_pass import schema_findings

BIN = Path(sys.executable).parent  # .venv/bin when run as `make bench`
SCHEMA = "schemas/roku-direct-publisher.schema.json"
START, END = "<!-- results:start -->", "<!-- results:end -->"
#: Targets: validate_feed on the clean and on the many-warnings feed, and the process ratio.
TARGET_MS = {"clean": 100.0, "many-warnings": 150.0}
TARGET_RATIO = 10.0
#: Target: placing the many-warnings feed's findings at their lines and columns (`locate`).
TARGET_LOCATE_MS = 100.0

TOPICS = ["politics", "economy", "world", "middle-east", "sports", "culture", "science", "health"]
PLACES = ["Tehran", "Beirut", "Gaza", "London", "Caracas", "Baghdad", "Sanaa", "Geneva", "Moscow"]
SUBJECTS = ["Parliament", "Foreign ministry", "Analysts", "Protesters", "Officials", "Scientists"]
VERBS = ["debate", "reject", "welcome", "question", "announce", "review", "condemn", "discuss"]
OBJECTS = ["new sanctions", "the budget", "a ceasefire plan", "oil exports", "the election", "a trade deal"]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} in {rng.choice(PLACES)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."


def make_feed(items: int, seed: int = 25) -> dict[str, t.Any]:
    """A valid feed: `items` news clips, tag-query categories, and one playlist shown by a category."""
    rng = random.Random(seed)
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    videos = []
    for i in range(items):
        vid = f"ptv-{i:06d}"
        added = newest - timedelta(minutes=17 * i)
        short = " ".join(sentence(rng) for _ in range(2))
        long_ = " ".join(sentence(rng) for _ in range(5))
        video = {"url": f"https://cdn.ptv.example/hls/{vid}/master.m3u8", "quality": "HD", "videoType": "HLS"}
        videos.append(
            {
                "id": vid,
                "title": f"{rng.choice(PLACES)}: {rng.choice(SUBJECTS)} {rng.choice(VERBS)} "
                f"{rng.choice(OBJECTS)}",
                "shortDescription": short[:200],
                "longDescription": f"{short} {long_}"[:500],
                "thumbnail": f"https://cdn.ptv.example/thumbs/{vid}.jpg",
                "releaseDate": added.date().isoformat(),
                "genres": ["news"],
                "tags": ["news", *rng.sample(TOPICS, 2)],
                "rating": {"rating": "UNRATED"},
                "content": {
                    "dateAdded": added.isoformat(timespec="seconds"),
                    "videos": [video],
                    "duration": rng.randint(45, 900),
                    "language": "en",
                },
            }
        )
    categories = [{"name": "Top stories", "playlistName": "top-stories", "order": "manual"}]
    categories += [{"name": topic.title(), "query": topic, "order": "most_recent"} for topic in TOPICS[:4]]
    categories.append({"name": "Society", "query": "culture OR health", "order": "most_popular"})
    return {
        "providerName": "Press TV News",
        "lastUpdated": newest.isoformat(timespec="seconds"),
        "language": "en",
        "shortFormVideos": videos,
        "categories": categories,
        "playlists": [{"name": "top-stories", "itemIds": [v["id"] for v in videos[:25]]}],
    }


def make_many_warnings_feed(items: int, seed: int = 25) -> dict[str, t.Any]:
    """The same feed written like Roku's own samples: every item has a `Z` offset in dateAdded,
    no rating, and an MP4 video without bitrate, so three warnings per item."""
    feed = make_feed(items, seed)
    for clip in feed["shortFormVideos"]:
        del clip["rating"]
        content = clip["content"]
        content["dateAdded"] = content["dateAdded"].replace("+00:00", "Z")
        content["videos"] = [
            {"url": f"https://cdn.ptv.example/mp4/{clip['id']}.mp4", "quality": "HD", "videoType": "MP4"}
        ]
    return feed


FEEDS = {"clean": make_feed, "many-warnings": make_many_warnings_feed}


def write_feed(kind: str, items: int) -> tuple[Path, str]:
    """Write the feed to bench/out/ and check what roku-feed says of it; return (path, verdict)."""
    feed_path = ROOT / "bench" / "out" / f"feed-{items}{'' if kind == 'clean' else '-' + kind}.json"
    feed_path.parent.mkdir(parents=True, exist_ok=True)
    with feed_path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(FEEDS[kind](items), ensure_ascii=False, indent=1))
        out.flush()
        os.fsync(out.fileno())  # no disk writeback in the middle of the timings
    feed_file = str(feed_path.relative_to(ROOT))
    argv = [str(BIN / "roku-feed"), "validate", "--format", "json", feed_file]
    check = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    report = json.loads(check.stdout) if check.stdout.startswith("{") else {}
    per_item = {f["code"] for f in report.get("findings", ()) if f.get("item_pointer")}
    meant = set() if kind == "clean" else {"datetime-not-canonical", "missing-rating", "missing-bitrate"}
    warnings = report.get("warnings", 0)
    as_meant = report.get("errors") == 0 and per_item == meant and warnings >= len(meant) * items
    if check.returncode != 0 or not as_meant:
        sys.exit(f"bench: the {kind} feed is not as meant (exit {check.returncode}):\n{check.stderr}")
    verdict = f"valid: 0 error(s), {warnings:,} warning(s)"
    print(f"bench: {feed_file}: {verdict}", file=sys.stderr)
    return feed_path, verdict


def time_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of `repeat` calls of `fn`, in milliseconds."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


Row = tuple[str, str, list[float], str]  # (feed, measurement, wall times in ms, peak RSS or "")
VALIDATE, REFERENCE = "`validate_feed` (schema + rules)", "pure-Python `jsonschema` Draft4Validator"
SCHEMA_PASS, RULE_PASS = "schema pass alone (`schema_findings`)", "rule pass alone (`rule_findings`)"
CJS = "process: `check-jsonschema --schemafile`"
LOCATE = "positions alone (`locate`, every finding's line and column; the C scanner)"
WALK = "positions by the Python walk (`walk_locate`: what runs where the C scanner was not built)"
STARTUP = {
    'process: `python -c "import roku_feed.cli"`': ["-c", "import roku_feed.cli"],
    'process: `python -c "pass"` (bare interpreter)': ["-c", "pass"],
}
#: The roku-feed process measured on each feed: what CI runs on it. On the many-warnings feed
#: the output is the point, so it is rendered in full (JSON), every finding with its line and
#: column (the process includes the positions pass; its in-process row is LOCATE).
ROKU = {
    "clean": ("process: `roku-feed validate --quiet`", ["validate", "--quiet"]),
    "many-warnings": ("process: `roku-feed validate --format json`", ["validate", "--format", "json"]),
}


def run_process(argv: list[str]) -> tuple[float, int]:
    """(wall ms, peak RSS KiB) of one run of a command."""
    wall, rss, _ = run_launched(argv)
    return wall, rss


def in_process_rows(kind: str, feed: t.Any, text: str, repeat: int) -> list[Row]:
    size = len(text)
    findings = validate_feed(feed, size=size).findings  # warm-up: the schema compiles on first use
    gc.collect()  # start from a clean heap: no collection left over from building the feed
    rows = [
        (kind, VALIDATE, time_calls(lambda: validate_feed(feed, size=size), repeat), ""),
        (kind, SCHEMA_PASS, time_calls(lambda: schema_findings(feed), repeat), ""),
        (kind, RULE_PASS, time_calls(lambda: rule_findings(feed, size=size), repeat), ""),
    ]
    if kind == "many-warnings":  # what `roku-feed validate` adds to validate_feed: the positions
        if positions._locate is None:
            sys.exit("bench: roku_feed._locate (the C scanner) is not built; see the README's Development")
        rows.append((kind, LOCATE, time_calls(lambda: locate(text, findings), repeat), ""))
        walk_locate(text, findings)  # warm-up: the plan's regex compiles once
        rows.append((kind, WALK, time_calls(lambda: walk_locate(text, findings), repeat), ""))
    if kind == "clean":  # the reference takes seconds, and the schema says the same of both feeds
        reference = jsonschema.Draft4Validator(load_schema())
        if errors := list(reference.iter_errors(feed)):
            sys.exit(f"bench: jsonschema finds {len(errors)} error(s): {errors[0].message}")
        times = time_calls(lambda: list(reference.iter_errors(feed)), min(3, repeat))
        rows.append((kind, REFERENCE, times, ""))
    return rows


def process_rows(feed_files: dict[str, str], runs: int) -> list[Row]:
    commands: dict[tuple[str, str], list[str]] = {}
    for kind, feed_file in feed_files.items():
        name, args = ROKU[kind]
        commands[kind, name] = [str(BIN / "roku-feed"), *args, feed_file]
        commands[kind, CJS] = [str(BIN / "check-jsonschema"), "--schemafile", SCHEMA, feed_file]
    for name, args in STARTUP.items():
        commands["-", name] = [str(BIN / "python"), *args]
    samples: dict[tuple[str, str], list[tuple[float, int]]] = {key: [] for key in commands}
    for argv in commands.values():
        run_process(argv)  # warm-up: bytecode caches, page cache
    for k in range(runs):
        for key in list(commands)[:: 1 if k % 2 == 0 else -1]:  # alternate the order
            samples[key].append(run_process(commands[key]))
    return [
        (kind, name, [w for w, _ in s], f"{max(r for _, r in s) / 1024:.0f} MiB")
        for (kind, name), s in samples.items()
    ]


def render(rows: list[Row], header: str) -> str:
    med = {(kind, name): statistics.median(times) for kind, name, times, _ in rows}
    lines = [
        header,
        "",
        f"Machine: {machine('jsonschema-rs', 'jsonschema', 'check-jsonschema')}.",
        "",
        "| Feed | Measurement | runs | min (ms) | median (ms) | peak RSS |",
        "|---|---|---:|---:|---:|---:|",
        *(
            f"| {kind} | {n} | {len(ts)} | {min(ts):,.1f} | {med[kind, n]:,.1f} | {rss or '-'} |"
            for kind, n, ts, rss in rows
        ),
        "",
    ]
    for kind, target in TARGET_MS.items():
        got = med[kind, VALIDATE]
        lines.append(
            f"- In-process target, {kind} feed, schema + rules <= {target:.0f} ms (median): {got:.1f} ms, "
            f"**{'met' if got <= target else 'MISSED'}**."
        )
    got = med["many-warnings", LOCATE]
    lines.append(
        f"- In-process target, many-warnings feed, positions (`locate`) <= {TARGET_LOCATE_MS:.0f} ms "
        f"(median): {got:.1f} ms, **{'met' if got <= TARGET_LOCATE_MS else 'MISSED'}**; "
        f"{got / med['many-warnings', VALIDATE]:.2f}x `validate_feed`'s own time."
    )
    for kind, (name, _) in ROKU.items():
        ratio = med[kind, CJS] / med[kind, name]
        lines.append(
            f"- Process target, {kind} feed, `check-jsonschema` / `{' '.join(ROKU[kind][1])}` >= "
            f"{TARGET_RATIO:.0f}x (medians, same run): {ratio:.1f}x, "
            f"**{'met' if ratio >= TARGET_RATIO else 'MISSED'}**."
        )
    lines.append(
        f"- For reference, pure-Python `jsonschema` / `validate_feed` on the clean feed (medians): "
        f"{med['clean', REFERENCE] / med['clean', VALIDATE]:.0f}x; the many-warnings feed's "
        f"`validate_feed` / the clean one's: {med['many-warnings', VALIDATE] / med['clean', VALIDATE]:.1f}x."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="shortFormVideos in the feed")
    parser.add_argument("--repeat", type=int, default=20, help="in-process repetitions")
    parser.add_argument("--process-runs", type=int, default=5, help="runs of each subprocess")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md results")
    args = parser.parse_args()

    rows: list[Row] = []
    files, described = {}, []
    for kind in FEEDS:
        feed_path, verdict = write_feed(kind, args.items)
        files[kind] = str(feed_path.relative_to(ROOT))
        described.append(f"{kind} {feed_path.stat().st_size / 1e6:.1f} MB, `roku-feed` says {verdict}")
        text = feed_path.read_text(encoding="utf-8")
        rows += in_process_rows(kind, parse_feed(feed_path.read_bytes(), "feed").data, text, args.repeat)
    rows += process_rows(files, args.process_runs)
    header = (
        f"Run on {date.today().isoformat()}: {args.items:,} shortFormVideos in each feed "
        f"({'; '.join(described)}); {args.repeat} in-process repetitions, {args.process_runs} runs "
        "per process (order alternated)."
    )
    table = render(rows, header)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
