"""Benchmark of building the feed from articles: full build, rebuilds, publishing, memory.

The channel rebuilds its feed every time the newsroom publishes or edits an article, from a
catalog of thousands of articles, and the publisher then gzips and hashes the result. So a
full build must stay well under a second and a few hundred MB at 10,000 articles, and a rebuild
after one article changed must redo the text work for that article only. This generates N
realistic articles (HTML bodies of 4-6 paragraphs with entities and a link, section
breadcrumbs, tags, images, videos), times in-process a full build with a fresh `FeedBuilder`,
its parts (the per-article text work, serialization, validation), a rebuild with every article
cached and one with exactly one article edited (counting calls to `prepare` to show the cache
works), and gzip and sha256 of the text; measures peak memory (tracemalloc in-process, peak
RSS of a child that builds once); times `read_sources` on a directory of N *.json files
plus the build, as a whole process, and `roku-feed build` on it; and times re-reading:
`Catalog.articles()` on N stored rows (a new Catalog, then the same one) and
`FileIndex.read_changed` on the directory (first call, then with nothing changed). It checks
the targets (full build of 10,000 articles in at most 1.0 s and 250 MB; a one-change rebuild
redoes that article's text work only; `roku-feed build` of 10,000 files in at most 2.5 s;
re-reading 10,000 unchanged files in at most 300 ms), prints a Markdown table and, with
--write-readme, rewrites the build results section of bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import gzip
import hashlib
import json
import os
import pstats
import random
import re
import resource
import shutil
import statistics
import sys
import time
import tracemalloc
import typing as t
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from benchlib import ROOT, machine, run_launched, write_results

import roku_feed.builder
from roku_feed.articles import Article, parse_article
from roku_feed.builder import FeedBuilder, serialize
from roku_feed.catalog import Catalog
from roku_feed.channel import Channel
from roku_feed.sources import read_sources
from roku_feed.sources.index import FileIndex
from roku_feed.validation import validate_feed

OUT = ROOT / "bench" / "out"
START, END = "<!-- build-results:start -->", "<!-- build-results:end -->"
TARGET_MS, TARGET_MB = 1000.0, 250.0
CLI_TARGET_MS, REREAD_TARGET_MS = 2500.0, 300.0  # `roku-feed build DIR`; FileIndex, nothing changed
MiB = 2**20

SECTIONS = [
    "News / Middle East",
    "News / Iran",
    "News / Russia",
    "News / Europe",
    "News / Americas",
    "News / Asia-Pacific",
    "News / Africa",
    "Business / Economy",
]
OFFSETS = [timezone(timedelta(hours=h, minutes=m)) for h, m in ((3, 30), (3, 0), (0, 0), (1, 0), (-4, 0))]
PLACES = ["Tehran", "Beirut", "Gaza", "London", "Caracas", "Baghdad", "Sanaa", "Geneva", "Moscow", "Havana"]
SUBJECTS = ["Parliament", "The foreign ministry", "Analysts", "Protesters", "Officials", "Scientists"]
VERBS = ["debate", "reject", "welcome", "question", "announce", "review", "condemn", "discuss"]
OBJECTS = ["new sanctions", "the budget", "a ceasefire plan", "oil exports", "the election", "a trade deal"]
CLAUSES = [
    "according to a statement released on Monday",
    "as talks resumed after a two-week pause",
    "despite objections from several neighbouring states",
    "in a move that surprised regional observers",
    "while negotiators said more work was needed",
    "after months of pressure from trade unions",
]
QUOTES = [
    "&#8220;We will not accept terms dictated from abroad,&#8221; a spokesperson said.",
    "&#8220;This is a turning point,&#8221; one minister told reporters.",
    "&quot;The numbers speak for themselves,&quot; an economist said.",
]
TAGS = ["Iran", "Oil", "Sanctions", "Diplomacy", "Energy", "Elections", "Trade", "Health", "Climate", "UN"]


def sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(SUBJECTS)} in {rng.choice(PLACES)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
        f"{rng.choice(CLAUSES)}."
    )


def body_html(rng: random.Random, link: str) -> str:
    """4-6 paragraphs of ~1.5-3 KB: entities (&amp; &nbsp; quotes), one <a>, one <em>."""
    paras = []
    count = rng.randint(4, 6)
    linked = rng.randrange(count)
    for k in range(count):
        words = [sentence(rng) for _ in range(rng.randint(3, 5))]
        if k == 0:
            words[0] = f"<em>{PLACES[k % len(PLACES)]}</em>&nbsp;&#8212; {words[0]}"
        if k == linked:
            words.insert(1, f'Read <a href="{link}">our earlier report</a> on the talks.')
        if rng.random() < 0.5:
            words.append(rng.choice(QUOTES))
        if rng.random() < 0.3:
            words.append("Oil &amp; gas exports fell 4% in the quarter.")
        paras.append(f"<p>{' '.join(words)}</p>")
    return "\n".join(paras)


def make_mapping(i: int, rng: random.Random, newest: datetime) -> dict[str, t.Any]:
    """One article as a newsroom JSON file holds it (ArticleSchema's input shape)."""
    number = 700_000 + i
    published = (newest - timedelta(minutes=7 * i)).astimezone(rng.choice(OFFSETS))
    title = f"{rng.choice(PLACES)}: {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    url = f"https://www.presstv.example/Detail/{published:%Y/%m/%d}/{number}/{slug}"
    hls = rng.random() < 0.8
    video: dict[str, t.Any] = {
        "url": f"https://media.presstv.example/video/{number}/{'master.m3u8' if hls else 'clip.mp4'}",
        "duration": rng.randint(45, 900),
    }
    if hls and rng.random() < 0.5:
        video["type"] = "HLS"  # the rest leave the type to be inferred from the URL
    if not hls:
        video["bitrate"] = 2500
    mapping: dict[str, t.Any] = {
        "url": url,
        "title": title,
        "section": SECTIONS[rng.randrange(len(SECTIONS))],
        "summary": f"<p>{sentence(rng)}</p>",
        "body": body_html(rng, f"https://www.presstv.example/Detail/{number - 40}/"),
        "published": published.isoformat(),
        "tags": rng.sample(TAGS, rng.randint(2, 5)),
        "image": {"url": f"https://media.presstv.example/img/{number}-1280x720.jpg", "width": 1280},
        "video": video,
    }
    if rng.random() < 0.2:
        mapping["updated"] = (published + timedelta(minutes=rng.randint(1, 6))).isoformat()
    if rng.random() < 0.05:
        mapping["featured"] = True
    return mapping


def mappings(items: int, newest: datetime, seed: int = 25) -> Iterator[dict[str, t.Any]]:
    rng = random.Random(seed)
    for i in range(items):
        yield make_mapping(i, rng, newest)


def catalog(items: int, newest: datetime) -> list[Article]:
    """N parsed articles; mappings are made one at a time, so only the Articles stay in memory."""
    return [parse_article(m, f"catalog/{i:06d}.json") for i, m in enumerate(mappings(items, newest))]


def edited(article: Article, n: int) -> Article:
    """An edited copy: a new title, a correction opening the body, and a later `updated`."""
    body = (article.body or "").replace("<p>", f"<p>Correction {n}: an earlier figure was revised. ", 1)
    later = article.changed + timedelta(minutes=n + 1)
    return dataclasses.replace(article, title=f"{article.title} (update {n})", body=body, updated=later)


def channel() -> Channel:
    return Channel(byte_budget=None)


def build_once(articles: list[Article]) -> roku_feed.builder.Built:
    return FeedBuilder(channel()).build(articles)


def time_calls(fn: Callable[[], object], repeat: int, setup: Callable[[], None] | None = None) -> list[float]:
    """Wall times of `repeat` calls of `fn` (after `setup` and a full collection), in milliseconds."""
    out = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()  # garbage from the previous call is not this call's cost
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


class CountPrepare:
    """Counts calls to roku_feed.builder.prepare (the per-article text work) while active."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = roku_feed.builder.prepare

    def __enter__(self) -> CountPrepare:
        def counted(*args: t.Any, **kwargs: t.Any) -> t.Any:
            self.calls += 1
            return self.real(*args, **kwargs)

        roku_feed.builder.prepare = counted
        return self

    def __exit__(self, *_: object) -> None:
        roku_feed.builder.prepare = self.real


# --- child processes --------------------------------------------------------------------------


def run_child(args: list[str]) -> tuple[float, int, dict[str, t.Any]]:
    """Run this script as a child; return (wall ms, peak RSS in KiB, the child's JSON report)."""
    wall, rss, lines = run_launched([sys.executable, str(Path(__file__).resolve()), *args])
    return wall, rss, json.loads(lines[-1])


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def child_memory(items: int, newest: datetime) -> dict[str, t.Any]:
    """Parse N articles, then build once: the peak RSS of a process holding the catalog and a feed."""
    articles = catalog(items, newest)
    gc.collect()
    after_parse = maxrss_kib()
    start = time.perf_counter()
    built = build_once(articles)
    build_ms = (time.perf_counter() - start) * 1000
    return {
        "rss_after_parse_kib": after_parse,
        "rss_end_kib": maxrss_kib(),
        "build_ms": build_ms,
        "sha256": hashlib.sha256(built.text.encode("utf-8")).hexdigest(),
    }


def child_directory(directory: str) -> dict[str, t.Any]:
    """`read_sources([dir])` then a build, as `roku-feed build` does it."""
    start = time.perf_counter()
    result = read_sources([directory])
    read_ms = (time.perf_counter() - start) * 1000
    after_read = maxrss_kib()
    start = time.perf_counter()
    built = FeedBuilder(channel()).build(result.articles, skipped=result.skipped)
    build_ms = (time.perf_counter() - start) * 1000
    return {
        "articles": len(result.articles),
        "skipped": len(built.report.skipped),
        "read_ms": read_ms,
        "build_ms": build_ms,
        "rss_after_read_kib": after_read,
        "rss_end_kib": maxrss_kib(),
        "sha256": hashlib.sha256(built.text.encode("utf-8")).hexdigest(),
    }


def write_directory(items: int, newest: datetime) -> Path:
    """N article files, one JSON object each, as the newsroom's export writes them."""
    directory = OUT / f"articles-{items}"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for i, mapping in enumerate(mappings(items, newest)):
        slug = mapping["url"].rsplit("/", 1)[-1]
        path = directory / f"{i:06d}-{slug}.json"
        path.write_text(json.dumps(mapping, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.sync()  # no disk writeback in the middle of the timings
    return directory


# --- the benchmark ----------------------------------------------------------------------------


Row = tuple[str, list[float], str]  # (measurement, wall times in ms, notes)
FULL = "full build, fresh `FeedBuilder` (`build(articles)`)"
CACHED = "rebuild, same builder, all articles cached"
ONE = "rebuild, same builder, 1 article edited"
SERIALIZE, VALIDATE = "  part: `serialize(feed)` alone", "  part: `validate_feed(feed)` alone"


def in_memory(articles: list[Article], repeat: int) -> tuple[list[Row], dict[str, t.Any]]:
    facts: dict[str, t.Any] = {}
    built = build_once(articles)  # warm-up (schema compile, imports), and the reference text
    report = built.report
    if len(report.accepted) != len(articles) or report.skipped:
        sys.exit(f"bench: {len(report.accepted)} accepted, {len(report.skipped)} skipped of {len(articles)}")
    facts["warnings"] = sorted({w["code"] for w in report.warnings})
    feed, text = built.feed, built.text
    body = text.encode("utf-8")
    facts["text_sha256"] = hashlib.sha256(body).hexdigest()
    facts["bytes"] = len(body)
    del built, report

    rows: list[Row] = []
    # Full builds: a fresh builder (empty cache) each time.
    rows.append((FULL, time_calls(lambda: build_once(articles), repeat), "text work for every article"))
    ch = channel()
    prepare = roku_feed.builder.prepare
    rows.append(
        (
            "  part: per-article text work alone (`prepare` x N)",
            time_calls(lambda: [prepare(a, ch) for a in articles], repeat),
            "HTML to text, clip, tags, item, its size",
        )
    )
    rows.append((SERIALIZE, time_calls(lambda: serialize(feed), repeat), "compact JSON"))
    rows.append(
        (
            VALIDATE,
            time_calls(lambda: validate_feed(feed, size=len(text)), repeat),
            "schema + rules",
        )
    )

    # Rebuilds on one builder. Each one-change rebuild edits the same article again (a new
    # version each time), so exactly one article differs from what the previous build cached.
    builder = FeedBuilder(ch)
    builder.build(articles)
    rows.append((CACHED, time_calls(lambda: builder.build(articles), repeat), ""))
    target = len(articles) // 2
    versions = [edited(articles[target], n) for n in range(repeat + 1)]
    current: list[Article] = list(articles)

    def next_version() -> None:
        current[target] = versions.pop()

    rows.append((ONE, time_calls(lambda: builder.build(current), repeat, setup=next_version), ""))

    # Counted: calls of the text work in a full build, a cached rebuild, a one-change rebuild.
    counting = FeedBuilder(ch)
    counts = []
    with CountPrepare() as counter:
        for batch in (articles, articles, current):
            counter.calls = 0
            out = counting.build(batch)
            counts.append(counter.calls)
        next_version()
        counter.calls = 0
        changed = counting.build(current)
        counts.append(counter.calls)
    if hashlib.sha256(counting.build(articles).text.encode("utf-8")).hexdigest() != facts["text_sha256"]:
        sys.exit("bench: a rebuild of the same articles gave different text")
    facts["counts"] = counts  # full build, cached rebuild, one edit, another edit
    facts["changed_ids"] = sum(
        a != b for a, b in zip(out.feed["shortFormVideos"], changed.feed["shortFormVideos"], strict=True)
    )
    rows[0] = (FULL, rows[0][1], f"`prepare` calls: {counts[0]:,}")
    rows[4] = (CACHED, rows[4][1], f"`prepare` calls: {counts[1]}")
    rows[5] = (ONE, rows[5][1], f"`prepare` calls: {counts[3]}; {facts['changed_ids']} item differs")
    del out, changed, counting

    # What the publisher does with the text on every publish.
    rows.append(("publish: `text.encode('utf-8')`", time_calls(lambda: text.encode("utf-8"), repeat), ""))
    for level in (6, 9):
        size = len(gzip.compress(body, compresslevel=level, mtime=0))
        note = f"{len(body) / 1e6:.1f} MB -> {size / 1e6:.2f} MB"
        if level == 9:
            note += "; the level `publisher.Document.of` uses"
        rows.append(
            (
                f"publish: `gzip.compress(body, {level})`",
                time_calls(lambda level=level: gzip.compress(body, compresslevel=level, mtime=0), repeat),
                note,
            )
        )
    digest = time_calls(lambda: hashlib.sha256(body).hexdigest(), repeat)
    rows.append(("publish: `sha256(body).hexdigest()`", digest, ""))

    # The build's own allocations (the articles and the feed above exist before tracing starts).
    gc.collect()
    tracemalloc.start()
    kept = build_once(articles)
    facts["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del kept
    return rows, facts


def catalog_reads(articles: list[Article], repeat: int) -> list[Row]:
    """`Catalog.articles()` on N stored rows: a new Catalog parses every row, the same one none."""
    path = OUT / f"catalog-{len(articles)}.sqlite"
    for stale in OUT.glob(f"{path.name}*"):  # the database and its WAL files
        stale.unlink()
    Catalog(path).upsert(articles)
    fresh: list[Catalog] = []

    def new_catalog() -> None:
        fresh[:] = [Catalog(path)]

    cold = time_calls(lambda: fresh[0].articles(), repeat, setup=new_catalog)
    warm = Catalog(path)
    before = warm.articles()
    times = time_calls(warm.articles, repeat)
    same = sum(a is b for a, b in zip(warm.articles(), before, strict=True))
    return [
        ("`Catalog.articles()`, cold: a new `Catalog`", cold, f"{len(articles):,} rows parsed"),
        ("`Catalog.articles()`, warm: same `Catalog`, no row changed", times, f"{same:,} the same objects"),
    ]


def index_rereads(directory: Path, repeat: int) -> tuple[list[Row], float]:
    """`FileIndex.read_changed([dir])`: the first call reads every file, later ones only stat them."""
    index = FileIndex()
    spec = [str(directory)]
    cold = time_calls(lambda: index.read_changed(spec), 1)
    reads, changed = index.reads, []
    warm = time_calls(lambda: changed.append(index.read_changed(spec)[1]), repeat)
    if index.reads != reads or any(changed):
        sys.exit(f"bench: FileIndex read {index.reads - reads} unchanged files again, changed={changed}")
    rel = directory.relative_to(ROOT)
    return [
        (f"`FileIndex.read_changed(['{rel}'])`, first call", cold, f"{reads:,} files read"),
        (
            f"`FileIndex.read_changed(['{rel}'])`, nothing changed",
            warm,
            "listed and stat'ed, 0 read, `changed` False",
        ),
    ], statistics.median(warm)


def cli_build(directory: Path, repeat: int) -> tuple[Row, float]:
    """`roku-feed build DIR` as an editor runs it (default channel), the whole process."""
    report = OUT / "cli-report.json"
    rel = directory.relative_to(ROOT)
    cli = str(Path(sys.executable).with_name("roku-feed"))
    argv = [cli, "build", str(rel), "--output", str(OUT / "cli-feed.json"), "--report", str(report)]
    run_launched(argv)  # warm-up: bytecode, page cache
    runs = [run_launched(argv) for _ in range(repeat)]
    done = json.loads(report.read_text(encoding="utf-8"))
    walls = [wall for wall, _, _ in runs]
    note = (
        f"default channel: {len(done['accepted']):,} items fit its byte budget, "
        f"{len(done['skipped']):,} skipped; peak RSS {max(rss for _, rss, _ in runs) / 1024:.0f} MiB"
    )
    return (f"process: `roku-feed build {rel}`", walls, note), statistics.median(walls)


def profile(articles: list[Article]) -> None:
    build_once(articles)  # warm-up, as in the timings
    gc.collect()
    profiler = cProfile.Profile()
    profiler.runcall(build_once, articles)
    for key in ("cumulative", "tottime"):
        print(f"\n--- full build of {len(articles):,} articles, top 15 by {key} ---", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(key).print_stats(15)


def render(rows: list[Row], facts: dict[str, t.Any], header: str) -> str:
    med = {name: statistics.median(times) for name, times, _ in rows}
    full, one = med[FULL], med[ONE]
    peak_mb = facts["mem_rss_end_kib"] * 1024 / 1e6
    return "\n".join(
        [
            header,
            "",
            f"Machine: {machine('marshmallow', 'jsonschema-rs')}.",
            "",
            "| Measurement | runs | min (ms) | median (ms) | notes |",
            "|---|---:|---:|---:|---|",
            *(f"| {n} | {len(ts)} | {min(ts):,.1f} | {med[n]:,.1f} | {note} |" for n, ts, note in rows),
            "",
            f"- Full build target, {facts['items']:,} articles in <= {TARGET_MS / 1000:.1f} s (median): "
            f"{full / 1000:.2f} s, **{'met' if full <= TARGET_MS else 'MISSED'}**.",
            f"- Memory target, <= {TARGET_MB:.0f} MB: peak RSS of a process that parses the catalog and "
            f"builds once {peak_mb:.0f} MB ({facts['mem_rss_end_kib'] / 1024:.0f} MiB; "
            f"{facts['mem_rss_after_parse_kib'] / 1024:.0f} MiB before the build), "
            f"**{'met' if peak_mb <= TARGET_MB else 'MISSED'}**; tracemalloc peak of the build itself "
            f"{facts['tracemalloc_peak'] / MiB:.0f} MiB.",
            f"- Rebuild target, one edited article redoes the text work of that article only "
            f"(`prepare` runs once): **{'met' if facts['counts'][3] == 1 else 'MISSED'}**; "
            f"{full / one:.1f}x cheaper than a full build ({one:,.0f} ms vs {full:,.0f} ms). `prepare` ran "
            f"{facts['counts'][0]:,} times in a full build, {facts['counts'][1]} in a cached rebuild, "
            f"{facts['counts'][3]} in a one-change rebuild. What a rebuild still pays is assembly, "
            f"serialization and validation of the whole feed (`serialize` + `validate_feed` alone: "
            f"{med[SERIALIZE] + med[VALIDATE]:,.0f} ms).",
            f"- From a directory: `read_sources` of {facts['items']:,} files "
            f"{facts['dir_read_ms']:,.0f} ms + build {facts['dir_build_ms']:,.0f} ms (medians inside the "
            f"child); the whole process {facts['dir_wall_ms']:,.0f} ms and "
            f"{facts['dir_rss_kib'] / 1024:.0f} MiB peak RSS. Same feed as in memory: "
            f"{'yes' if facts['same_feed'] else '**NO**'} (sha256).",
            f"- `roku-feed build` target, {facts['items']:,} files in <= {CLI_TARGET_MS / 1000:.1f} s "
            f"(median, whole process): {facts['cli_ms'] / 1000:.2f} s, "
            f"**{'met' if facts['cli_ms'] <= CLI_TARGET_MS else 'MISSED'}**.",
            f"- Re-read target, {facts['items']:,} unchanged files in <= {REREAD_TARGET_MS:.0f} ms (median "
            f"`FileIndex.read_changed`): {facts['reread_ms']:,.0f} ms, "
            f"**{'met' if facts['reread_ms'] <= REREAD_TARGET_MS else 'MISSED'}**.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="articles in the catalog")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each timing and child")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md build results")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one full build")
    parser.add_argument("--child", choices=("memory", "directory"), help=argparse.SUPPRESS)
    parser.add_argument("--newest", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "memory":
        print(json.dumps(child_memory(args.items, datetime.fromisoformat(args.newest))))
        return
    if args.child == "directory":
        print(json.dumps(child_directory(args.dir)))
        return

    load = os.getloadavg()[0]  # other work on the machine moves every number below
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    articles = catalog(args.items, newest)
    body_kb = statistics.mean(len((a.body or "").encode("utf-8")) for a in articles) / 1000
    print(f"bench: {len(articles):,} articles parsed, mean body {body_kb:.1f} KB", file=sys.stderr)
    rows, facts = in_memory(articles, args.repeat)
    facts["items"] = args.items
    if args.profile:
        profile(articles)
    catalog_rows = catalog_reads(articles, args.repeat)
    del articles
    gc.collect()

    memory_child = ["--child", "memory", "--items", str(args.items), "--newest", newest.isoformat()]
    mem_wall, mem_rss, mem = run_child(memory_child)
    facts["mem_rss_after_parse_kib"], facts["mem_rss_end_kib"] = mem["rss_after_parse_kib"], mem_rss
    rows.append(
        (
            "process: parse N articles in memory + build once",
            [mem_wall],
            f"peak RSS {mem_rss / 1024:.0f} MiB ({mem['rss_after_parse_kib'] / 1024:.0f} MiB "
            f"before the build); build {mem['build_ms']:,.0f} ms",
        )
    )

    directory = write_directory(args.items, newest)
    files = len(list(directory.glob("*.json")))
    size_mb = sum(p.stat().st_size for p in directory.glob("*.json")) / 1e6
    run_child(["--child", "directory", "--dir", str(directory)])  # warm-up: bytecode, page cache
    runs = [run_child(["--child", "directory", "--dir", str(directory)]) for _ in range(args.repeat)]
    reports = [r for _, _, r in runs]
    if any(r["articles"] != args.items or r["skipped"] for r in reports):
        bad = reports[0]
        sys.exit(f"bench: the directory build read {bad['articles']} articles, skipped {bad['skipped']}")
    facts.update(
        dir_read_ms=statistics.median(r["read_ms"] for r in reports),
        dir_build_ms=statistics.median(r["build_ms"] for r in reports),
        dir_wall_ms=statistics.median(w for w, _, _ in runs),
        dir_rss_kib=max(rss for _, rss, _ in runs),
        same_feed={mem["sha256"], *(r["sha256"] for r in reports)} == {facts["text_sha256"]},
    )
    rel = directory.relative_to(ROOT)
    rows += [
        (
            f"process: `read_sources(['{rel}'])` + build",
            [w for w, _, _ in runs],
            f"peak RSS {facts['dir_rss_kib'] / 1024:.0f} MiB (whole process, start-up included)",
        ),
        (
            "  in that child: `read_sources`",
            [r["read_ms"] for r in reports],
            f"{files:,} files, {size_mb:.0f} MB",
        ),
        ("  in that child: build", [r["build_ms"] for r in reports], ""),
    ]
    cli_row, facts["cli_ms"] = cli_build(directory, args.repeat)
    index_rows, facts["reread_ms"] = index_rereads(directory, args.repeat)
    rows += [cli_row, *catalog_rows, *index_rows]

    header = (
        f"Run on {date.today().isoformat()}: {args.items:,} articles (mean HTML body {body_kb:.1f} KB), "
        f"`Channel(byte_budget=None)`, feed {facts['bytes'] / 1e6:.1f} MB compact JSON, build warnings: "
        f"{', '.join(facts['warnings']) or 'none'}; {args.repeat} repetitions of each in-process timing "
        f"and of the directory child (after one warm-up), one memory child; load average "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."
    )
    table = render(rows, facts, header)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
