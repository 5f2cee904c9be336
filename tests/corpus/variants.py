"""The test corpus of broken feeds: each variant is a valid base feed with one deliberate change.

Every variant names the single finding it must produce (code and JSON pointer). The files in
`invalid/` and `warning/` are written from this table by running this script
(`python tests/corpus/variants.py`); a test checks they are up to date, so the table and the
files never drift apart, and people can run `roku-feed validate` on any of them.
"""

from __future__ import annotations

import copy
import json
import sys
import typing as t
from pathlib import Path

HERE = Path(__file__).parent
DELETE = object()  # sentinel: remove the member at the pointer


class Variant(t.NamedTuple):
    name: str
    base: str  # file in valid/
    changes: tuple[tuple[str, t.Any], ...]  # (JSON pointer, new value or DELETE); "-" appends
    code: str
    pointer: str


def v(name: str, changes: dict[str, t.Any], code: str, pointer: str, base: str = "every-type") -> Variant:
    return Variant(name, base, tuple(changes.items()), code, pointer)


SFV0 = "/shortFormVideos/0"
SFV1 = "/shortFormVideos/1"
MOV = "/movies/0"
EP = "/series/0/seasons/0/episodes/0"
LONG = "x" * 501


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


INVALID = (
    v("root-missing-provider-name", {"/providerName": DELETE}, "missing-field", ""),
    v("root-missing-last-updated", {"/lastUpdated": DELETE}, "missing-field", ""),
    v(
        "root-last-updated-rfc2822",
        {"/lastUpdated": "Thu, 4 Nov 2022 16:37:07"},
        "bad-datetime",
        "/lastUpdated",
    ),
    v("root-language-word", {"/language": "English"}, "bad-language", "/language"),
    v("root-no-content", {"/shortFormVideos": []}, "no-content", "", base="minimal"),
    v("root-is-array", {"": []}, "wrong-type", "", base="minimal"),
    v("id-too-long", {f"{SFV1}/id": "n" * 51}, "too-long", f"{SFV1}/id"),
    v("id-empty", {f"{SFV1}/id": ""}, "empty-value", f"{SFV1}/id"),
    v("id-number", {f"{SFV1}/id": 123}, "wrong-type", f"{SFV1}/id"),
    v("movie-missing-title", {f"{MOV}/title": DELETE}, "missing-field", MOV),
    v("short-form-missing-content", {f"{SFV1}/content": DELETE}, "missing-field", SFV1),
    v("special-missing-thumbnail", {"/tvSpecials/0/thumbnail": DELETE}, "missing-field", "/tvSpecials/0"),
    v("movie-missing-genres", {f"{MOV}/genres": DELETE}, "missing-field", MOV),
    v("genre-not-in-list", {f"{MOV}/genres/0": "Entertainment"}, "invalid-value", f"{MOV}/genres/0"),
    v(
        "short-description-201",
        {f"{SFV0}/shortDescription": "s" * 201},
        "too-long",
        f"{SFV0}/shortDescription",
    ),
    v("long-description-501", {f"{MOV}/longDescription": LONG}, "too-long", f"{MOV}/longDescription"),
    v("tag-too-long", {f"{SFV0}/tags/2": "international-diplomacy"}, "too-long", f"{SFV0}/tags/2"),
    v(
        "release-date-is-datetime",
        {f"{SFV0}/releaseDate": "2026-11-24T09:15:00Z"},
        "bad-date",
        f"{SFV0}/releaseDate",
    ),
    v("release-date-feb-30", {f"{MOV}/releaseDate": "2026-02-30"}, "impossible-date", f"{MOV}/releaseDate"),
    v(
        "date-added-feb-29-2026",
        {f"{MOV}/content/dateAdded": "2026-02-29T10:00:00+00:00"},
        "impossible-date",
        f"{MOV}/content/dateAdded",
    ),
    v(
        "date-added-hour-25",
        {f"{MOV}/content/dateAdded": "2026-11-20T25:00:00+00:00"},
        "impossible-date",
        f"{MOV}/content/dateAdded",
    ),
    v(
        "date-added-no-offset",
        {f"{MOV}/content/dateAdded": "2026-11-20T10:00:00"},
        "bad-datetime",
        f"{MOV}/content/dateAdded",
    ),
    v("duration-string", {f"{SFV0}/content/duration": "142"}, "wrong-type", f"{SFV0}/content/duration"),
    v("duration-float", {f"{SFV0}/content/duration": 142.5}, "wrong-type", f"{SFV0}/content/duration"),
    v("duration-negative", {f"{SFV0}/content/duration": -1}, "out-of-range", f"{SFV0}/content/duration"),
    v("videos-empty", {f"{SFV0}/content/videos": []}, "empty-value", f"{SFV0}/content/videos"),
    v(
        "quality-lower-case",
        {f"{SFV0}/content/videos/0/quality": "hd"},
        "invalid-value",
        f"{SFV0}/content/videos/0/quality",
    ),
    v(
        "video-type-youtube",
        {f"{SFV0}/content/videos/0/videoType": "youtube"},
        "invalid-value",
        f"{SFV0}/content/videos/0/videoType",
    ),
    v(
        "video-url-relative",
        {f"{SFV0}/content/videos/0/url": "/news/talks.m3u8"},
        "bad-url",
        f"{SFV0}/content/videos/0/url",
    ),
    v(
        "video-url-ftp",
        {f"{SFV0}/content/videos/0/url": "ftp://media.example.org/talks.mp4"},
        "bad-url",
        f"{SFV0}/content/videos/0/url",
    ),
    v(
        "bitrate-null",
        {f"{MOV}/content/videos/0/bitrate": None},
        "wrong-type",
        f"{MOV}/content/videos/0/bitrate",
    ),
    v(
        "caption-type-cc",
        {f"{MOV}/content/captions/0/captionType": "CC"},
        "invalid-value",
        f"{MOV}/content/captions/0/captionType",
    ),
    v(
        "caption-missing-language",
        {f"{MOV}/content/captions/0/language": DELETE},
        "missing-field",
        f"{MOV}/content/captions/0",
    ),
    v(
        "trick-play-uhd",
        {f"{MOV}/content/trickPlayFiles/0/quality": "UHD"},
        "invalid-value",
        f"{MOV}/content/trickPlayFiles/0/quality",
    ),
    v("tags-nested-300-deep", {f"{SFV0}/tags": nested(300)}, "nesting-too-deep", f"{SFV0}/tags" + "/0" * 62),
    v("ad-break-mm-ss", {f"{MOV}/content/adBreaks/1": "15:00"}, "bad-timecode", f"{MOV}/content/adBreaks/1"),
    v(
        "ad-break-after-end",
        {f"{MOV}/content/adBreaks/2": "01:00:00"},
        "ad-break-beyond-duration",
        f"{MOV}/content/adBreaks/2",
    ),
    v(
        "ad-breaks-unordered",
        {f"{MOV}/content/adBreaks": ["00:00:00", "00:35:30", "00:15:00"]},
        "ad-breaks-unordered",
        f"{MOV}/content/adBreaks/2",
    ),
    v(
        "validity-period-reversed",
        {f"{MOV}/content/validityPeriodStart": "2028-01-01T00:00:00+00:00"},
        "validity-period-reversed",
        f"{MOV}/content/validityPeriodStart",
    ),
    v("rating-is-string", {f"{MOV}/rating": "TV14"}, "wrong-type", f"{MOV}/rating"),
    v(
        "rating-without-source",
        {f"{MOV}/rating/ratingSource": DELETE},
        "rating-source-missing",
        f"{MOV}/rating",
    ),
    v("rating-hyphenated", {f"{MOV}/rating/rating": "TV-14"}, "invalid-value", f"{MOV}/rating/rating"),
    v(
        "credit-role-presenter",
        {f"{MOV}/credits/0/role": "presenter"},
        "invalid-value",
        f"{MOV}/credits/0/role",
    ),
    v(
        "credit-birth-date-us-style",
        {f"{MOV}/credits/0/birthDate": "04/12/1981"},
        "bad-date",
        f"{MOV}/credits/0/birthDate",
    ),
    v(
        "external-id-type-lower-case",
        {f"{MOV}/externalIds/0/idType": "imdb"},
        "invalid-value",
        f"{MOV}/externalIds/0/idType",
    ),
    v(
        "live-missing-branded-thumbnail",
        {"/liveFeeds/0/brandedThumbnail": DELETE},
        "missing-field",
        "/liveFeeds/0",
    ),
    v("live-missing-rating", {"/liveFeeds/0/rating": DELETE}, "missing-field", "/liveFeeds/0"),
    v("series-without-episodes", {"/series/1/episodes": DELETE}, "series-without-episodes", "/series/1"),
    v(
        "season-number-string",
        {"/series/0/seasons/0/seasonNumber": "2026"},
        "wrong-type",
        "/series/0/seasons/0/seasonNumber",
    ),
    v(
        "season-without-episodes",
        {"/series/0/seasons/0/episodes": []},
        "empty-value",
        "/series/0/seasons/0/episodes",
    ),
    v("episode-missing-number", {f"{EP}/episodeNumber": DELETE}, "missing-field", EP),
    v("duplicate-id-with-episode", {f"{SFV1}/id": "debate-2026-001"}, "duplicate-id", f"{SFV1}/id"),
    v("duplicate-id-same-list", {f"{SFV1}/id": "news-moscow-kyiv-talks"}, "duplicate-id", f"{SFV1}/id"),
    v(
        "playlist-unknown-id",
        {"/playlists/0/itemIds/1": "no-such-item"},
        "playlist-item-unknown",
        "/playlists/0/itemIds/1",
    ),
    v(
        "playlist-lists-episode",
        {"/playlists/0/itemIds/2": "debate-2026-001"},
        "playlist-item-episode",
        "/playlists/0/itemIds/2",
    ),
    v("playlist-empty", {"/playlists/0/itemIds": []}, "empty-value", "/playlists/0/itemIds"),
    v(
        "playlist-name-21-chars",
        {"/playlists/0/name": "Top Stories Of The Wk", "/categories/0/playlistName": "Top Stories Of The Wk"},
        "too-long",
        "/playlists/0/name",
    ),
    v(
        "playlist-name-twice",
        {"/playlists/-": {"name": "Top Stories", "itemIds": ["presstv-live"]}},
        "duplicate-playlist-name",
        "/playlists/1/name",
    ),
    v(
        "category-playlist-case",
        {"/categories/0/playlistName": "Top stories"},
        "category-playlist-unknown",
        "/categories/0/playlistName",
    ),
    v(
        "category-playlist-and-query",
        {"/categories/0/query": "russia"},
        "category-needs-one-source",
        "/categories/0",
    ),
    v("category-no-source", {"/categories/1/query": DELETE}, "category-needs-one-source", "/categories/1"),
    v("category-order-newest", {"/categories/1/order": "newest"}, "invalid-value", "/categories/1/order"),
    v(
        "category-query-manual-order",
        {"/categories/1/order": "manual"},
        "manual-order-needs-playlist",
        "/categories/1",
    ),
    v(
        "query-and-or",
        {"/categories/1/query": "russia AND ukraine OR iran"},
        "query-mixed-operators",
        "/categories/1/query",
    ),
    v(
        "query-dangling-or",
        {"/categories/1/query": "russia OR"},
        "query-empty-operand",
        "/categories/1/query",
    ),
    v(
        "descriptions-identical",
        {f"{SFV0}/longDescription": "The Kremlin says it is ready to resume talks in Istanbul."},
        "descriptions-identical",
        f"{SFV0}/longDescription",
    ),
)

WARNING = (
    v(
        "http-video-url",
        {f"{SFV0}/content/videos/0/url": "http://media.example.org/talks.m3u8"},
        "insecure-url",
        f"{SFV0}/content/videos/0/url",
    ),
    v(
        "http-thumbnail",
        {f"{SFV0}/thumbnail": "http://media.example.org/talks.jpg"},
        "insecure-url",
        f"{SFV0}/thumbnail",
    ),
    v(
        "mp4-without-bitrate",
        {f"{MOV}/content/videos/1/bitrate": DELETE},
        "missing-bitrate",
        f"{MOV}/content/videos/1",
    ),
    v("last-updated-z", {"/lastUpdated": "2026-11-24T18:30:00Z"}, "datetime-not-canonical", "/lastUpdated"),
    v(
        "date-added-fraction",
        {f"{SFV0}/content/dateAdded": "2026-11-24T09:15:00.431+03:00"},
        "datetime-not-canonical",
        f"{SFV0}/content/dateAdded",
    ),
    v(
        "date-added-2099",
        {f"{SFV0}/content/dateAdded": "2099-01-01T00:00:00+00:00"},
        "date-in-future",
        f"{SFV0}/content/dateAdded",
    ),
    v("short-form-no-genres", {f"{SFV0}/genres": DELETE}, "missing-genres", SFV0),
    v("movie-empty-genres", {f"{MOV}/genres": []}, "missing-genres", MOV),
    v("short-form-no-rating", {f"{SFV0}/rating": DELETE}, "missing-rating", SFV0),
    v(
        "short-form-no-long-description",
        {f"{SFV0}/longDescription": DELETE},
        "missing-long-description",
        SFV0,
    ),
    v(
        "content-no-language",
        {f"{SFV0}/content/language": DELETE},
        "missing-content-language",
        f"{SFV0}/content",
    ),
    v(
        "query-tag-nobody-has",
        {"/categories/3/query": "documentaries"},
        "query-tag-unused",
        "/categories/3/query",
    ),
    v(
        "playlist-shown-nowhere",
        {"/playlists/-": {"name": "Archive", "itemIds": ["doc-gaza-lifeline"]}},
        "playlist-unused",
        "/playlists/1",
    ),
    v(
        "episode-number-twice",
        {"/series/0/seasons/0/episodes/1/episodeNumber": 1},
        "duplicate-episode-number",
        "/series/0/seasons/0/episodes/1/episodeNumber",
    ),
    v(
        "season-number-twice",
        {
            "/series/0/seasons/-": {
                "seasonNumber": 2026,
                "episodes": [
                    {
                        "id": "debate-2026-extra",
                        "title": "Extra",
                        "thumbnail": "https://media.example.org/debate/extra.jpg",
                        "releaseDate": "2026-02-01",
                        "episodeNumber": 1,
                        "shortDescription": "An extra episode.",
                        "content": {
                            "dateAdded": "2026-02-01T20:00:00+00:00",
                            "duration": 600,
                            "language": "en",
                            "videos": [
                                {
                                    "url": "https://media.example.org/debate/extra.m3u8",
                                    "quality": "HD",
                                    "videoType": "HLS",
                                }
                            ],
                        },
                    }
                ],
            }
        },
        "duplicate-season-number",
        "/series/0/seasons/1/seasonNumber",
    ),
    v("markup-in-title", {f"{SFV0}/title": "Talks <b>resume</b>"}, "markup-in-text", f"{SFV0}/title"),
    v("empty-movies-list", {"/movies": []}, "empty-content-array", "/movies", base="minimal"),
    v("over-500-kb", {"/x-padding": "p" * 520_000}, "over-template-size", "", base="minimal"),
)


def _parent(doc: t.Any, pointer: str) -> tuple[t.Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def apply(variant: Variant) -> t.Any:
    """The base feed with the variant's changes applied."""
    doc = json.loads((HERE / "valid" / f"{variant.base}.json").read_text(encoding="utf-8"))
    for pointer, value in variant.changes:
        if pointer == "":
            doc = copy.deepcopy(value)
            continue
        parent, key = _parent(doc, pointer)
        if value is DELETE:
            del parent[int(key) if isinstance(parent, list) else key]
        elif isinstance(parent, list):
            if key == "-":
                parent.append(copy.deepcopy(value))
            else:
                parent[int(key)] = copy.deepcopy(value)
        else:
            parent[key] = copy.deepcopy(value)
    return doc


def render(variant: Variant) -> str:
    return json.dumps(apply(variant), indent=2, ensure_ascii=False) + "\n"


def files() -> dict[Path, str]:
    """Every generated corpus file and its content."""
    out = {HERE / "invalid" / f"{v.name}.json": render(v) for v in INVALID}
    out.update({HERE / "warning" / f"{v.name}.json": render(v) for v in WARNING})
    return out


if __name__ == "__main__":
    for folder in ("invalid", "warning"):
        for old in (HERE / folder).glob("*.json"):
            old.unlink()
        (HERE / folder).mkdir(exist_ok=True)
    for path, text in files().items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(INVALID)} invalid and {len(WARNING)} warning variants", file=sys.stderr)
