"""Pure parsers of the first bytes of media responses: what a probe learns without decoding media.

Nothing here touches the network; the probes fetch a bounded head of each response and hand it to
these functions. Every parser is defensive: the input is whatever a stranger's server sent.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urljoin, urlsplit

import m3u8
from PIL import Image, JpegImagePlugin, PngImagePlugin

#: How many bytes of an image to fetch so that `image_info` can see its size. PNG, GIF and WebP
#: need only their first 30 bytes, but a JPEG's size is in its SOF marker, after every APPn
#: segment (EXIF with a thumbnail, ICC profile, XMP, Photoshop data); Pillow also reads the tables
#: up to the start of scan. Plain encoder output needs under 1 KB; 64 KiB covers a full EXIF
#: segment plus the usual rest. A JPEG whose header is longer gives None: fetch more, or report it.
IMAGE_HEAD_BYTES = 64 * 1024

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- images ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """An image's format ("JPEG", "PNG", "GIF" or "WEBP") and size in pixels, read from its header."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def too_large(self) -> bool:
        """More pixels than Pillow agrees to decode (Image.MAX_IMAGE_PIXELS): a decompression bomb,
        and in any case far beyond what a Roku can show; worth a finding rather than a download."""
        limit = Image.MAX_IMAGE_PIXELS
        return limit is not None and self.pixels > limit


def image_format(head: bytes) -> str | None:
    """The image format its magic bytes announce, even when `head` is too short for the size."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_MAGIC):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def image_info(head: bytes) -> ImageInfo | None:
    """Format and size from the first bytes of an image (see IMAGE_HEAD_BYTES for how many).

    None when `head` is not a JPEG, PNG, GIF or WebP, or is cut before the size. No pixel is
    decoded and nothing is allocated from the claimed size, so a decompression bomb is harmless
    here: it comes back with its claimed size and `too_large` set.
    """
    fmt = image_format(head)
    if fmt == "GIF":
        # Logical screen size, at a fixed offset; Pillow would also want the palette and every
        # extension block (comments, XMP) before the first frame.
        size: tuple[int, int] | None = struct.unpack_from("<HH", head, 6) if len(head) >= 10 else None
    elif fmt == "WEBP":
        # Pillow's WebP reader needs the whole file (and allocates the canvas), so read the header.
        size = _webp_size(head)
    elif fmt in ("JPEG", "PNG"):
        size = _pillow_size(
            JpegImagePlugin.JpegImageFile if fmt == "JPEG" else PngImagePlugin.PngImageFile, head
        )
    else:
        return None
    if size is None or min(size) <= 0:
        return None
    return ImageInfo(fmt, size[0], size[1])


def _pillow_size(
    plugin: type[JpegImagePlugin.JpegImageFile] | type[PngImagePlugin.PngImageFile], head: bytes
) -> tuple[int, int] | None:
    # The plugin class parses headers only. Unlike Image.open it skips the decompression-bomb
    # check (warning or DecompressionBombError), so a bomb still tells us its size; ImageInfo
    # applies the same limit in `too_large`.
    try:
        with plugin(io.BytesIO(head)) as im:
            return im.size
    except Exception:  # truncated or corrupt headers raise OSError, SyntaxError, struct.error...
        return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    if len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14 bits each of width-1 and height-1
        if head[20] != 0x2F:
            return None
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: key frame start code, then 14-bit width and height
        if head[23:26] != b"\x9d\x01\x2a":
            return None
        return (
            int.from_bytes(head[26:28], "little") & 0x3FFF,
            int.from_bytes(head[28:30], "little") & 0x3FFF,
        )
    return None


# --- video: HLS and DASH manifests ---------------------------------------------------------------


def hls_quality(width: int, height: int) -> str:
    """The feed quality a stream of this size deserves: "SD", "HD", "FHD" or "UHD".

    Counted in lines, but a letterboxed or portrait picture counts as the 16:9 frame it fills:
    1920x800 is FHD like 1920x1080 (lines = max(short side, long side * 9/16)).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid video size {width}x{height}")
    lines = max(min(width, height), max(width, height) * 9 // 16)
    if lines >= 2160:
        return "UHD"
    if lines >= 1080:
        return "FHD"
    if lines >= 720:
        return "HD"
    return "SD"


@dataclass(frozen=True, slots=True)
class HlsVariant:
    """One stream of a master playlist: where it is and what it claims to be."""

    uri: str  # absolute
    bandwidth: int | None
    resolution: tuple[int, int] | None  # (width, height)
    codecs: tuple[str, ...]

    @property
    def quality(self) -> str | None:
        return hls_quality(*self.resolution) if self.resolution else None


@dataclass(frozen=True, slots=True)
class HlsInfo:
    """What a playlist says: a master lists variants; a media playlist lists segments."""

    is_master: bool
    variants: tuple[HlsVariant, ...] = ()  # by increasing bandwidth; master only
    has_endlist: bool = False
    playlist_type: str | None = None  # "VOD", "EVENT" or None
    duration: float = 0.0  # seconds, sum of the segment durations
    segment_count: int = 0
    target_duration: float | None = None

    @property
    def is_live(self) -> bool:
        """A media playlist without EXT-X-ENDLIST is still growing: Roku plays it as live."""
        return not self.is_master and not self.has_endlist


def parse_hls(text: str, base_url: str) -> HlsInfo:
    """Parse an HLS playlist fetched from `base_url`; ValueError when it is not one."""
    if not text.lstrip("\ufeff \t\r\n").startswith("#EXTM3U"):
        raise ValueError("not an HLS playlist: it does not start with #EXTM3U")
    try:
        playlist = m3u8.loads(text)
    except Exception as exc:  # m3u8 raises bare ValueError/IndexError/... on malformed attributes
        raise ValueError(f"malformed HLS playlist: {exc}") from exc
    if playlist.is_variant:
        variants = [
            HlsVariant(
                uri=urljoin(base_url, p.uri),
                bandwidth=p.stream_info.bandwidth,
                resolution=tuple(p.stream_info.resolution) if p.stream_info.resolution else None,
                codecs=tuple(c.strip() for c in (p.stream_info.codecs or "").split(",") if c.strip()),
            )
            for p in playlist.playlists
        ]
        variants.sort(key=lambda v: v.bandwidth or 0)
        return HlsInfo(is_master=True, variants=tuple(variants))
    durations = [s.duration or 0.0 for s in playlist.segments]
    return HlsInfo(
        is_master=False,
        has_endlist=bool(playlist.is_endlist),
        playlist_type=playlist.playlist_type.upper() if playlist.playlist_type else None,
        duration=round(sum(durations), 3),
        segment_count=len(durations),
        target_duration=float(playlist.target_duration) if playlist.target_duration is not None else None,
    )


@dataclass(frozen=True, slots=True)
class DashRepresentation:
    """One encoding in an MPD; size, codecs and MIME type may be inherited from its AdaptationSet."""

    id: str | None
    bandwidth: int | None
    width: int | None
    height: int | None
    codecs: str | None
    mime_type: str | None


@dataclass(frozen=True, slots=True)
class DashInfo:
    """What an MPD says: static (on demand) or dynamic (live), length, and its representations."""

    type: str  # "static" or "dynamic"
    duration: float | None  # seconds, from mediaPresentationDuration
    representations: tuple[DashRepresentation, ...]  # in document order, across periods

    @property
    def is_live(self) -> bool:
        return self.type == "dynamic"


_DOCTYPE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_NUM = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?!$)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
)
# Years and months have no fixed length; manifests hardly use them (some write P0Y0M0DT...).
_DURATION_UNITS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def iso8601_duration(text: str) -> float:
    """Seconds in an ISO 8601 / xs:duration such as PT1H2M3.5S or P1DT2H; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    values = zip(match.groups(), _DURATION_UNITS, strict=True)
    return sum(float(v.replace(",", ".")) * unit for v, unit in values if v)


def parse_dash(text: str) -> DashInfo:
    """Parse a DASH MPD; ValueError when it is not one, or declares a DOCTYPE or entities.

    The standard library parser expands internal entities, so a document type declaration is
    refused outright (an MPD never needs one): no entity expansion bomb can reach the parser.
    """
    if _DOCTYPE.search(text):
        raise ValueError("DASH manifest refused: it has a DOCTYPE or ENTITY declaration")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not a DASH manifest: invalid XML ({exc})") from None
    if _local(root.tag) != "MPD":
        raise ValueError(f"not a DASH manifest: the root element is <{_local(root.tag)}>, not <MPD>")
    mpd_type = root.get("type", "static")
    if mpd_type not in ("static", "dynamic"):
        raise ValueError(f"invalid DASH manifest: type={mpd_type!r} is neither static nor dynamic")
    raw_duration = root.get("mediaPresentationDuration")
    try:
        duration = iso8601_duration(raw_duration) if raw_duration else None
    except ValueError:
        raise ValueError(f"invalid DASH manifest: mediaPresentationDuration={raw_duration!r}") from None
    representations = [
        DashRepresentation(
            id=rep.get("id"),
            bandwidth=_int(rep.get("bandwidth")),
            width=_int(rep.get("width") or aset.get("width")),
            height=_int(rep.get("height") or aset.get("height")),
            codecs=rep.get("codecs") or aset.get("codecs"),
            mime_type=rep.get("mimeType") or aset.get("mimeType"),
        )
        for period in _children(root, "Period")
        for aset in _children(period, "AdaptationSet")
        for rep in _children(aset, "Representation")
    ]
    return DashInfo(mpd_type, duration, tuple(representations))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- captions ------------------------------------------------------------------------------------

_FIRST_TAG = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<([A-Za-z_][\w.:-]*)", re.DOTALL)
_SRT_TIMING = re.compile(r"\d{1,3}:\d{2}:\d{2},\d{3}[ \t]*-->[ \t]*\d{1,3}:\d{2}:\d{2},\d{3}(?:\s.*)?")


def sniff_caption(head: bytes) -> str | None:
    """The caption format of a file from its first bytes: "webvtt", "ttml", "srt", or None.

    Roku reads these three; anything else (or a caption URL that serves HTML) is worth a finding.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    if re.match(r"WEBVTT(?:[ \t\r\n]|$)", text):
        return "webvtt"
    tag = _FIRST_TAG.match(text)
    if tag and tag.group(1).rsplit(":", 1)[-1] == "tt":  # <tt xmlns="http://www.w3.org/ns/ttml">
        return "ttml"
    lines = iter(line.strip() for line in text.splitlines())
    first = next((line for line in lines if line), "")
    if first.isascii() and first.isdigit() and _SRT_TIMING.fullmatch(next(lines, "")):
        return "srt"
    return None


# --- signed URLs ---------------------------------------------------------------------------------


def url_expiry(url: str) -> datetime | None:
    """When a signed URL stops working (aware, UTC), or None when it carries no expiry we know.

    Understood: `Expires` (CloudFront, GCS v2), `exp` / `expires` (epoch seconds), `X-Amz-Date` +
    `X-Amz-Expires` (AWS SigV4; likewise X-Goog-*), `se` (Azure SAS) and Akamai tokens
    (`hdnts` / `hdnea` / `__token__`, fields separated by `~`, one of them `exp=<epoch>`).
    If several are present, the earliest wins: the URL stops working then.
    """
    params: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        params.setdefault(key.lower(), value)
    found: list[datetime | None] = [_epoch(params.get(k)) for k in ("expires", "exp")]
    for vendor in ("amz", "goog"):
        start = _compact_time(params.get(f"x-{vendor}-date"))
        lifetime = _digits(params.get(f"x-{vendor}-expires"))
        if start is not None and lifetime is not None:
            found.append(start + timedelta(seconds=lifetime))
    found.append(_iso_time(params.get("se")))
    for key in ("hdnts", "hdnea", "__token__"):
        for field in params.get(key, "").split("~"):
            name, _, value = field.partition("=")
            if name.strip() == "exp":
                found.append(_epoch(value))
    return min((d for d in found if d is not None), default=None)


def _digits(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _epoch(value: str | None) -> datetime | None:
    seconds = _digits(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _compact_time(value: str | None) -> datetime | None:
    try:  # 20240131T235959Z
        return datetime.strptime(value or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _iso_time(value: str | None) -> datetime | None:
    try:  # 2024-01-31T23:59:59Z, or a bare date (midnight UTC)
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
