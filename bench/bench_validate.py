"""Benchmark of `roku-feed validate` on a large, realistic, valid feed.

The channel publishes thousands of short news clips and validates the feed on every rebuild
and in CI, so validation must stay cheap as the catalog grows. This builds a valid feed of N
shortFormVideos, times the validator in-process (whole `validate_feed`, schema pass, rule
pass, and the pure-Python `jsonschema` package for reference) and as whole processes
(`roku-feed validate` against `check-jsonschema` on the same file, plus the CLI's start-up),
checks the targets (validate_feed on 10,000 items in at most 100 ms; the process at least 10x
faster than `check-jsonschema`), prints a Markdown table and, with --write-readme, rewrites
the results section of bench/README.md.
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

from roku_feed.validation import load_schema, validate_feed
from roku_feed.validation.rule_pass import rule_findings
from roku_feed.validation.schema_pass import schema_findings

BIN = Path(sys.executable).parent  # .venv/bin when run as `make bench`
SCHEMA = "schemas/roku-direct-publisher.schema.json"
START, END = "<!-- results:start -->", "<!-- results:end -->"
TARGET_MS, TARGET_RATIO = 100.0, 10.0

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


def time_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of `repeat` calls of `fn`, in milliseconds."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


Row = tuple[str, list[float], str]  # (measurement, wall times in ms, peak RSS or "")
VALIDATE, REFERENCE = "`validate_feed` (schema + rules)", "pure-Python `jsonschema` Draft4Validator"
ROKU, CJS = "process: `roku-feed validate --quiet`", "process: `check-jsonschema --schemafile`"


def run_process(argv: list[str]) -> tuple[float, int]:
    """(wall ms, peak RSS KiB) of one run of a command."""
    wall, rss, _ = run_launched(argv)
    return wall, rss


def in_process_rows(feed: t.Any, size: int, repeat: int) -> list[Row]:
    validate_feed(feed, size=size)  # warm-up: the schema compiles once, on first use
    gc.collect()  # start from a clean heap: no collection left over from building the feed
    rows = [
        (VALIDATE, time_calls(lambda: validate_feed(feed, size=size), repeat), ""),
        ("schema pass alone (`schema_findings`)", time_calls(lambda: schema_findings(feed), repeat), ""),
        ("rule pass alone (`rule_findings`)", time_calls(lambda: rule_findings(feed, size=size), repeat), ""),
    ]
    reference = jsonschema.Draft4Validator(load_schema())
    if errors := list(reference.iter_errors(feed)):
        sys.exit(f"bench: jsonschema finds {len(errors)} error(s): {errors[0].message}")
    rows.append((REFERENCE, time_calls(lambda: list(reference.iter_errors(feed)), min(3, repeat)), ""))
    return rows


def process_rows(feed_file: str, runs: int) -> list[Row]:
    commands = {
        ROKU: [str(BIN / "roku-feed"), "validate", "--quiet", feed_file],
        CJS: [str(BIN / "check-jsonschema"), "--schemafile", SCHEMA, feed_file],
        'process: `python -c "import roku_feed.cli"`': [str(BIN / "python"), "-c", "import roku_feed.cli"],
        'process: `python -c "pass"` (bare interpreter)': [str(BIN / "python"), "-c", "pass"],
    }
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for argv in commands.values():
        run_process(argv)  # warm-up: bytecode caches, page cache
    for k in range(runs):
        for name in list(commands)[:: 1 if k % 2 == 0 else -1]:  # alternate the order
            samples[name].append(run_process(commands[name]))
    return [(n, [w for w, _ in s], f"{max(r for _, r in s) / 1024:.0f} MiB") for n, s in samples.items()]


def render(rows: list[Row], header: str) -> str:
    med = {name: statistics.median(times) for name, times, _ in rows}
    ratio = med[CJS] / med[ROKU]
    return "\n".join(
        [
            header,
            "",
            f"Machine: {machine('jsonschema-rs', 'jsonschema', 'check-jsonschema')}.",
            "",
            "| Measurement | runs | min (ms) | median (ms) | peak RSS |",
            "|---|---:|---:|---:|---:|",
            *(f"| {n} | {len(ts)} | {min(ts):,.1f} | {med[n]:,.1f} | {rss or '-'} |" for n, ts, rss in rows),
            "",
            f"- In-process target, schema + rules <= {TARGET_MS:.0f} ms (median): {med[VALIDATE]:.1f} ms, "
            f"**{'met' if med[VALIDATE] <= TARGET_MS else 'MISSED'}**.",
            f"- Process target, `check-jsonschema` / `roku-feed` >= {TARGET_RATIO:.0f}x (medians, same run): "
            f"{ratio:.1f}x, **{'met' if ratio >= TARGET_RATIO else 'MISSED'}**.",
            f"- For reference, pure-Python `jsonschema` / `validate_feed` (medians): "
            f"{med[REFERENCE] / med[VALIDATE]:.0f}x.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="shortFormVideos in the feed")
    parser.add_argument("--repeat", type=int, default=20, help="in-process repetitions")
    parser.add_argument("--process-runs", type=int, default=5, help="runs of each subprocess")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md results")
    args = parser.parse_args()

    feed_path = ROOT / "bench" / "out" / f"feed-{args.items}.json"
    feed_path.parent.mkdir(parents=True, exist_ok=True)
    with feed_path.open("w", encoding="utf-8") as out:
        out.write(json.dumps(make_feed(args.items), ensure_ascii=False, indent=1))
        out.flush()
        os.fsync(out.fileno())  # no disk writeback in the middle of the timings
    feed_file = str(feed_path.relative_to(ROOT))
    argv = [str(BIN / "roku-feed"), "validate", feed_file]
    check = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if check.returncode != 0 or " 0 error(s)" not in check.stdout:
        sys.exit(f"bench: generated feed is invalid (exit {check.returncode}):\n{check.stdout}{check.stderr}")
    verdict = check.stdout.splitlines()[0].split(": ", 1)[1]
    print(f"bench: {feed_file}: {verdict}", file=sys.stderr)

    text = feed_path.read_text(encoding="utf-8")
    rows = in_process_rows(json.loads(text), len(text), args.repeat)
    rows += process_rows(feed_file, args.process_runs)
    header = (
        f"Run on {date.today().isoformat()}: {args.items:,} shortFormVideos, "
        f"{feed_path.stat().st_size / 1e6:.1f} MB, `roku-feed` says {verdict}; {args.repeat} "
        f"in-process repetitions, {args.process_runs} runs per process (order alternated)."
    )
    table = render(rows, header)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
