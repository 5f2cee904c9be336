"""Every finding code the validator can report, with its severity, fix and reason.

This table is the single source of docs/rules.md (`roku-feed rules --format markdown`);
a test keeps the two identical, so a code never exists without its documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Errors make a feed invalid; warnings are reported but do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Rule:
    """One finding code: what it means, how to fix it, and why it has its severity."""

    code: str
    severity: Severity
    stage: str
    summary: str
    fix: str
    reason: str


E, W = Severity.ERROR, Severity.WARNING

_RULES = (
    # Parser level: what the bytes themselves get wrong.
    Rule(
        "byte-order-mark",
        E,
        "parse",
        "The feed starts with a UTF-8 byte-order mark.",
        "Save the file as UTF-8 without BOM.",
        "JSON forbids a BOM and on-device parsers that sniff the first bytes misread the feed.",
    ),
    Rule(
        "invalid-unicode",
        E,
        "parse",
        "A string escapes a lone surrogate (\\ud800-\\udfff), which is not a character.",
        "Fix the encoder that wrote the feed; the text is shown with U+FFFD in its place.",
        "Strict parsers reject it, and Roku shows garbage or drops the text.",
    ),
    Rule(
        "duplicate-key",
        E,
        "parse",
        "An object names the same key twice.",
        "Keep one of the two members.",
        "JSON parsers disagree about which value wins, so Roku may read the other one.",
    ),
    # Schema level: expressed in schemas/roku-direct-publisher.schema.json (and, for a Roku
    # Search feed, schemas/roku-search-feed.schema.json, which maps onto the same codes).
    Rule(
        "missing-field",
        E,
        "schema",
        "A field every version of the spec requires is missing.",
        "Add the field named in the message.",
        "Required by the 2017 specification text (or, for live feeds, the 2020+ text); "
        "in a search feed, by Roku's search feed schema.",
    ),
    Rule(
        "wrong-type",
        E,
        "schema",
        "A value has the wrong JSON type (e.g. duration as a string).",
        "Write the value with the type the message names (integer seconds, object, list...).",
        "Roku's parsers read fields by type; a wrong type is a missing value on the device.",
    ),
    Rule(
        "invalid-value",
        E,
        "schema",
        "A value is not one of the values the spec allows.",
        "Use one of the listed values, spelled exactly (they are case sensitive).",
        "Enumerations (quality, videoType, genres, ratings, roles, order) are closed lists; "
        "Roku Search spells its lists (genres, countries, qualities) in lower case.",
    ),
    Rule(
        "too-long",
        E,
        "schema",
        "A text is longer than the spec allows.",
        "Shorten it: id 50, shortDescription 200, longDescription 500, tag and playlist name 20.",
        "Hard length limits stated by every version of the spec.",
    ),
    Rule(
        "empty-value",
        E,
        "schema",
        "A text or list that must have content is empty.",
        "Give it a value, or at least one entry.",
        "An empty id, title, video list or playlist leaves Roku nothing to show or play.",
    ),
    Rule(
        "out-of-range",
        E,
        "schema",
        "A number is below its minimum (negative duration...).",
        "Use a value within the range the message gives.",
        "Durations, bitrates and numbers cannot be negative.",
    ),
    Rule(
        "bad-date",
        E,
        "schema",
        "A date is not in YYYY-MM-DD form (releaseDate, birthDate).",
        "Write the date alone, e.g. 2026-11-25, without a time.",
        "The spec states the shape; third-party and Roku validators reject date-times here.",
    ),
    Rule(
        "bad-datetime",
        E,
        "schema",
        "A date-time is not ISO 8601 with an offset.",
        "Write it as 2026-11-25T09:30:00+00:00.",
        "Roku: 'Required property lastUpdated is missing or not in ISO 8601 format.'",
    ),
    Rule(
        "bad-timecode",
        E,
        "schema",
        "An ad break is not an hh:mm:ss offset.",
        "Write offsets as hh:mm:ss, e.g. 00:05:30.",
        "Ad cue points are read as hh:mm:ss.",
    ),
    Rule(
        "bad-url",
        E,
        "schema",
        "A URL is not an absolute http(s) URL.",
        "Give the full https:// address.",
        "Roku fetches media and images by absolute URL only.",
    ),
    Rule(
        "bad-language",
        E,
        "schema",
        "A language is not an ISO 639 code.",
        "Use a code such as en, en-US, fa or es-mx (lower case in a search feed: en-us).",
        "The spec requires ISO 639 codes.",
    ),
    Rule(
        "nesting-too-deep",
        E,
        "schema",
        "A value is nested more than 64 levels deep.",
        "Flatten it; a Roku feed needs about 10 levels.",
        "No Roku parser expects it, and the schema validator cannot report inside it.",
    ),
    Rule(
        "no-content",
        E,
        "schema",
        "The feed has no non-empty content list.",
        "Add at least one movie, series, short-form video, TV special or live feed.",
        "Roku rejects a feed without items ('No valid items were found in the feed').",
    ),
    Rule(
        "series-without-episodes",
        E,
        "schema",
        "A series has neither seasons nor episodes.",
        "Give the series seasons, or episodes for a mini-series.",
        "The spec requires one of the two; Roku cannot show an empty series.",
    ),
    Rule(
        "category-needs-one-source",
        E,
        "schema",
        "A category has both or neither of playlistName and query.",
        "Keep exactly one: playlistName for a hand-made row, query for a tag row.",
        "The spec requires exactly one; channel code reads one or the other.",
    ),
    Rule(
        "manual-order-needs-playlist",
        E,
        "schema",
        "A query category uses order 'manual'.",
        "Use most_recent, chronological or most_popular, or fill the row from a playlist.",
        "Manual order is the order of a playlist; a query has none.",
    ),
    Rule(
        "rating-source-missing",
        E,
        "schema",
        "A rating other than UNRATED has no ratingSource.",
        "Add ratingSource (e.g. USA_PR, MPAA), or use rating UNRATED.",
        "The spec allows omitting the source only for UNRATED.",
    ),
    # Rule level: what a schema cannot express.
    Rule(
        "duplicate-id",
        E,
        "rules",
        "Two items (episodes included), or two search feed assets, share an id.",
        "Give every item its own id; ids must stay stable over time.",
        "Ids are unique across the whole feed; Roku keeps only one of the duplicates.",
    ),
    Rule(
        "playlist-item-unknown",
        E,
        "rules",
        "A playlist lists an id no top-level item has.",
        "Remove the id from itemIds, or add the item.",
        "Roku: '1 item has an error' and the row shows fewer items than intended.",
    ),
    Rule(
        "playlist-item-episode",
        E,
        "rules",
        "A playlist lists the id of an episode.",
        "List the series instead, or publish the episode as a short-form video.",
        "Playlists may only name top-level items (spec change of 2016-07-28).",
    ),
    Rule(
        "category-playlist-unknown",
        E,
        "rules",
        "A category's playlistName matches no playlist in the feed.",
        "Fix the name (it is case sensitive) or add the playlist.",
        "The row would be empty; converted channels show 'Missing content'.",
    ),
    Rule(
        "duplicate-playlist-name",
        E,
        "rules",
        "Two playlists have the same name.",
        "Rename one; categories refer to playlists by name.",
        "A category's playlistName would be ambiguous.",
    ),
    Rule(
        "query-mixed-operators",
        E,
        "rules",
        "A category query mixes AND and OR.",
        "Use only AND or only OR in one query; split it into two categories if needed.",
        "The spec has no precedence or parentheses, so a mixed query has no meaning.",
    ),
    Rule(
        "query-empty-operand",
        E,
        "rules",
        "A category query has an empty operand ('news AND').",
        "Remove the dangling AND/OR or add the missing tag.",
        "An empty tag matches nothing and channel parsers split it unpredictably.",
    ),
    Rule(
        "descriptions-identical",
        E,
        "rules",
        "longDescription repeats shortDescription.",
        "Write a longer description, or omit longDescription where it is optional.",
        "The spec requires the long description to differ from the short one.",
    ),
    Rule(
        "validity-period-reversed",
        E,
        "rules",
        "validityPeriodStart is after validityPeriodEnd.",
        "Swap or correct the two date-times.",
        "The item would never be visible.",
    ),
    Rule(
        "ad-break-beyond-duration",
        E,
        "rules",
        "An ad break is at or after the end of the video.",
        "Remove it or move it before the duration.",
        "A cue point outside the video never plays, or breaks ad insertion.",
    ),
    Rule(
        "ad-breaks-unordered",
        E,
        "rules",
        "Ad breaks repeat or are not in ascending order.",
        "List each offset once, earliest first.",
        "Ad insertion reads cue points in order.",
    ),
    Rule(
        "impossible-date",
        E,
        "rules",
        "A date or time does not exist on the calendar (Feb 30, 25:00).",
        "Correct the date; check the generator that wrote it.",
        "Parsers on the device reject it and the item loses its date.",
    ),
    Rule(
        "markup-in-text",
        W,
        "rules",
        "A title or description contains HTML tags or entities.",
        "Publish plain text: strip tags and decode entities.",
        "Roku renders text fields literally, so viewers see '<p>' and '&amp;'.",
    ),
    Rule(
        "query-tag-unused",
        W,
        "rules",
        "A query names a tag that no item carries.",
        "Tag the items, or fix the spelling (tags are matched exactly).",
        "The row stays empty; converted channels show 'Missing content'.",
    ),
    Rule(
        "playlist-unused",
        W,
        "rules",
        "No category shows this playlist.",
        "Add a category with this playlistName, or remove the playlist.",
        "Harmless to Roku, but the editor probably meant to show it.",
    ),
    Rule(
        "duplicate-season-number",
        W,
        "rules",
        "Two seasons of a series share a number.",
        "Number the seasons uniquely.",
        "Roku's template labels seasons by position, so it plays, but viewers see a confusing list.",
    ),
    Rule(
        "duplicate-episode-number",
        W,
        "rules",
        "Two episodes of a season share a number.",
        "Number the episodes uniquely.",
        "Episodes still play in list order, but numbering shown to viewers is wrong.",
    ),
    Rule(
        "missing-genres",
        W,
        "rules",
        "A top-level item has no genres (or an empty list).",
        'Add genres, e.g. ["news"].',
        "Roku's conversion template reads genres[0] and crashes on items without it.",
    ),
    Rule(
        "insecure-url",
        W,
        "rules",
        "A media or image URL uses http instead of https.",
        "Serve it over https.",
        "The 2020+ spec requires https; Roku's own older samples use http and still play.",
    ),
    Rule(
        "missing-bitrate",
        W,
        "rules",
        "An MP4/MOV/M4V video has no bitrate.",
        "Add bitrate in kbps.",
        "The 2017 spec asks for it on single-bitrate files; Roku's own samples omit it.",
    ),
    Rule(
        "datetime-not-canonical",
        W,
        "rules",
        "A date-time uses Z or fractional seconds.",
        "Write YYYY-MM-DDThh:mm:ss+00:00.",
        "The spec's shape; Roku's own samples use the variants and Roku accepted them.",
    ),
    Rule(
        "date-in-future",
        W,
        "rules",
        "dateAdded or lastUpdated lies in the future.",
        "Check the generator's clock and time zone.",
        "Recently Added would sort the item wrongly.",
    ),
    Rule(
        "over-template-size",
        W,
        "rules",
        "The feed is larger than 500 KB (512,000 characters).",
        "Publish fewer or shorter items, or point the channel at a smaller feed.",
        "Roku's conversion template refuses larger feeds ('Feed is too large').",
    ),
    Rule(
        "empty-content-array",
        W,
        "rules",
        "A content list is present but empty.",
        "Omit the empty list.",
        "The spec describes each list as 'one or more'; Roku ignores an empty one.",
    ),
    Rule(
        "missing-long-description",
        W,
        "rules",
        "A movie or short-form video has no longDescription.",
        "Add a longDescription that differs from the short one.",
        "Required by the 2020+ wording only; Roku's samples and template work without it.",
    ),
    Rule(
        "missing-rating",
        W,
        "rules",
        "A movie, short-form video or TV special has no rating.",
        'Add a rating, e.g. {"rating": "UNRATED"}.',
        "Required by the 2020+ wording only; Roku's samples and template work without it.",
    ),
    Rule(
        "missing-content-language",
        W,
        "rules",
        "A content object has no language.",
        'Add content.language, e.g. "en".',
        "Required by the 2020+ wording only; Roku's samples and template work without it.",
    ),
)

_MEDIA = (
    # Media level: `--check-media` probes what the URLs really serve.
    Rule(
        "media-unreachable",
        E,
        "media",
        "A media URL fails: DNS, TLS, timeout, refused connection or HTTP error.",
        "Fix the URL or the server; Roku must be able to fetch it.",
        "Roku shows a broken tile or cannot play the item.",
    ),
    Rule(
        "media-not-checked",
        W,
        "media",
        "A media URL was not probed: its address is private or refused.",
        "Use a public address, or allow the host for the check.",
        "Roku devices cannot reach private addresses either.",
    ),
    Rule(
        "image-unreadable",
        E,
        "media",
        "A thumbnail is not a JPEG, PNG, GIF or WebP image.",
        "Serve a JPEG or PNG image at the URL.",
        "Roku cannot show it ('can't download the thumbnail').",
    ),
    Rule(
        "image-too-small",
        E,
        "media",
        "A thumbnail is smaller than 800x450.",
        "Publish the image at 800x450 or larger (1280x720 or 1920x1080).",
        "The spec's minimum; smaller images look broken on a TV.",
    ),
    Rule(
        "image-not-16x9",
        W,
        "media",
        "A thumbnail is not 16:9 (within 1%).",
        "Crop or pad the image to 16:9.",
        "Roku crops or letterboxes it.",
    ),
    Rule(
        "image-too-heavy",
        W,
        "media",
        "A thumbnail weighs more than the image budget.",
        "Compress the image.",
        "Large images load slowly on Roku devices.",
    ),
    Rule(
        "caption-unknown-format",
        W,
        "media",
        "A caption file is not WebVTT, SRT or TTML.",
        "Serve WebVTT (or SRT) at the caption URL.",
        "Roku does not show captions it cannot parse.",
    ),
    Rule(
        "media-wrong-type",
        E,
        "media",
        "A URL serves another format than the feed declares.",
        "Fix videoType (or the URL): HLS for .m3u8 playlists, DASH for MPDs, MP4 for files.",
        "Roku picks its player from the declared type and fails on a mismatch.",
    ),
    Rule(
        "stream-unreadable",
        E,
        "media",
        "An HLS playlist or DASH manifest cannot be parsed.",
        "Fix the packager's output.",
        "Roku's player cannot start the stream.",
    ),
    Rule(
        "stream-is-live",
        E,
        "media",
        "An on-demand item's stream is live (no end).",
        "Point the item at the finished recording, or publish it as a live feed.",
        "Roku cannot seek or show a duration for it.",
    ),
    Rule(
        "live-feed-not-live",
        W,
        "media",
        "A live feed's stream is a finished (VOD) recording.",
        "Point the live feed at the live stream.",
        "Viewers see an old recording in the live row.",
    ),
    Rule(
        "duration-mismatch",
        W,
        "media",
        "content.duration differs from the stream's length by more than 5%.",
        "Set content.duration to the stream's length in seconds.",
        "Roku's progress bar and resume points are wrong.",
    ),
    Rule(
        "quality-mismatch",
        W,
        "media",
        "The feed declares a higher quality than the best rendition served.",
        "Declare the quality of the best rendition.",
        "The spec asks for the highest rendition's class; an overstated one misleads viewers.",
    ),
    Rule(
        "url-expires-soon",
        W,
        "media",
        "A signed media URL expires within the window (7 days by default).",
        "Publish longer-lived URLs, or rebuild the feed before they expire.",
        "After expiry the media fails on every device.",
    ),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in (*_RULES, *_MEDIA)}


def codes_by_prefix() -> dict[str, list[str]]:
    """Every prefix `--select` and `--ignore` accept (a leading part of a code that ends at one of
    its hyphens) -> the codes it stands for, in catalog order."""
    out: dict[str, list[str]] = {}
    for code in RULES:
        parts = code.split("-")
        for n in range(1, len(parts)):
            out.setdefault("-".join(parts[:n]) + "-", []).append(code)
    return dict(sorted(out.items()))


def render_markdown() -> str:
    """The rule table as Markdown: the exact content of docs/rules.md."""
    lines = [
        "# Finding codes",
        "",
        "Every finding `roku-feed validate` reports has one of these codes. Errors make a feed",
        "invalid (exit code 1); warnings are reported but do not, unless `--warnings-as-errors`",
        "is given. Severities follow what Roku and its channel code really do: a hard limit that",
        "every version of the spec states, or anything that breaks Roku's channel code, is an",
        "error; what Roku's own published sample feeds do and Roku accepted is a warning.",
        "",
        "Stage `parse` is checked while reading the bytes, `schema` by",
        "`schemas/roku-direct-publisher.schema.json` (a Roku Search feed by",
        "`schemas/roku-search-feed.schema.json`), `rules` by code (what a schema cannot say),",
        "`media` by `--check-media`, which probes what the feed's URLs really serve.",
        "",
        "This file is generated by `roku-feed rules --format markdown`; a test keeps it in step.",
        "",
        "| code | severity | stage | meaning | fix | why this severity |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES.values():
        cells = (f"`{r.code}`", r.severity.value, r.stage, r.summary, r.fix, r.reason)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += [
        "",
        "## Choosing codes",
        "",
        "`roku-feed validate --select CODES` counts only the findings with those codes, `--ignore",
        "CODES` leaves them out (an ignored error does not make a feed invalid), and the config file",
        'says the same with `select` and `ignore` (README, "Use it in CI"); `POST /api/v1/validate`',
        "takes `?select=` and `?ignore=`. Each entry is a code, or a **prefix**: a leading part of a",
        "code that ends at one of its hyphens, standing for every code that starts with it",
        "(`missing-`, `playlist-item-`; `date-` is `date-in-future` but not `datetime-not-canonical`).",
        "Any other entry is an error (exit 2). Prefixes shared by more than one code:",
        "",
        "| prefix | codes |",
        "|---|---|",
    ]
    for prefix, codes in codes_by_prefix().items():
        if len(codes) > 1:
            lines.append(f"| `{prefix}` | " + ", ".join(f"`{code}`" for code in codes) + " |")
    return "\n".join(lines) + "\n"
