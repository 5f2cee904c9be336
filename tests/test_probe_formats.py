"""The media probes' parsers: image headers, HLS and DASH manifests, caption sniffing, URL expiry."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from roku_feed.probes.formats import (
    IMAGE_HEAD_BYTES,
    DashInfo,
    DashRepresentation,
    HlsInfo,
    HlsVariant,
    ImageInfo,
    hls_quality,
    image_format,
    image_info,
    iso8601_duration,
    parse_dash,
    parse_hls,
    sniff_caption,
    url_expiry,
)

# --- images ------------------------------------------------------------------------------------


def _encode(fmt: str, size: tuple[int, int], mode: str = "RGB", **options: object) -> bytes:
    """A noisy image, so that the file is larger than the heads we cut from it."""
    image = Image.effect_noise(size, 64).convert(mode)
    if mode == "RGBA":
        image.putalpha(128)  # really translucent, or the encoders drop the alpha channel
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize(
    ("fmt", "size", "mode", "options"),
    [
        ("JPEG", (1280, 720), "RGB", {}),
        ("JPEG", (640, 480), "L", {"progressive": True}),
        ("PNG", (300, 200), "RGB", {}),
        ("PNG", (257, 129), "RGBA", {}),
        ("GIF", (320, 240), "RGB", {}),
        ("WEBP", (300, 200), "RGB", {}),  # lossy: VP8
        ("WEBP", (301, 199), "RGB", {"lossless": True}),  # VP8L
        ("WEBP", (302, 198), "RGBA", {}),  # alpha: VP8X
    ],
)
def test_image_size_from_the_first_bytes(fmt: str, size: tuple[int, int], mode: str, options: dict) -> None:
    data = _encode(fmt, size, mode, **options)
    assert len(data) > 16 * 1024
    expected = ImageInfo(fmt, *size)
    for n in (2048, 16 * 1024, len(data)):
        assert image_info(data[:n]) == expected, n
    assert not expected.too_large
    assert Image.open(io.BytesIO(data)).size == size  # agrees with a full read


def test_all_three_webp_flavours_are_covered() -> None:
    chunks = {
        _encode("WEBP", (64, 64))[12:16],
        _encode("WEBP", (64, 64), lossless=True)[12:16],
        _encode("WEBP", (64, 64), "RGBA")[12:16],
    }
    assert chunks == {b"VP8 ", b"VP8L", b"VP8X"}


def test_jpeg_size_after_a_long_header_needs_a_longer_head() -> None:
    data = _encode("JPEG", (1280, 720), comment=b"x" * 30_000)  # a COM segment before SOF
    assert image_info(data[:2048]) is None
    assert image_info(data[: 16 * 1024]) is None
    assert image_format(data[:2048]) == "JPEG"  # so the caller knows more bytes would help
    assert image_info(data[:IMAGE_HEAD_BYTES]) == ImageInfo("JPEG", 1280, 720)


@pytest.mark.parametrize(("fmt", "cut"), [("JPEG", 100), ("PNG", 20), ("PNG", 30), ("GIF", 8), ("WEBP", 20)])
def test_truncated_header_gives_none(fmt: str, cut: int) -> None:
    data = _encode(fmt, (64, 48))
    assert image_format(data[:cut]) == fmt
    assert image_info(data[:cut]) is None


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<!doctype html><html><body>Not found</body></html>",
        b"\x00" * 4096,
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"\xff\xd8\xff" + b"\x00" * 200,  # JPEG magic, garbage after
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 60,  # PNG magic, no IHDR
        b"GIF89a\x00\x00\x00\x00",  # zero-sized screen
    ],
)
def test_not_an_image_gives_none(head: bytes) -> None:
    assert image_info(head) is None


def test_png_decompression_bomb_is_measured_not_decoded() -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    with pytest.raises(Image.DecompressionBombError):  # Pillow itself would refuse to open it
        Image.open(io.BytesIO(head))
    info = image_info(head)
    assert info == ImageInfo("PNG", 100_000, 100_000)
    assert info.too_large and info.pixels == 10**10


def test_jpeg_and_gif_bombs_are_too_large() -> None:
    jpeg = bytearray(_encode("JPEG", (64, 48)))
    sof = jpeg.index(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, sof + 5, 65_000, 65_000)  # height, width
    assert image_info(bytes(jpeg[:2048])) == ImageInfo("JPEG", 65_000, 65_000)
    assert image_info(bytes(jpeg)).too_large
    gif = b"GIF89a" + struct.pack("<HH", 65_535, 65_535) + b"\x00" * 3
    assert image_info(gif).too_large


def test_too_large_follows_pillows_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    info = ImageInfo("PNG", 4000, 3000)
    assert not info.too_large
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000_000)
    assert info.too_large
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert not ImageInfo("PNG", 100_000, 100_000).too_large


# --- HLS ---------------------------------------------------------------------------------------

MASTER = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"
1080/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
../low/index.m3u8?token=abc
#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS="avc1.4d401f, mp4a.40.2"
https://other.example/720.m3u8
"""


def _media(n: int, *, endlist: bool, kind: str | None = None) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:0"]
    if kind:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{kind}")
    for i in range(n):
        lines += [f"#EXTINF:{6.0 if i < n - 1 else 2.5},", f"seg{i}.ts"]
    if endlist:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def test_hls_master_variants_sorted_and_resolved() -> None:
    info = parse_hls(MASTER, "https://cdn.example/show/ep1/master.m3u8")
    assert info.is_master and not info.is_live
    assert info.variants == (
        HlsVariant(
            "https://cdn.example/show/low/index.m3u8?token=abc",
            800000,
            (640, 360),
            ("avc1.4d401e", "mp4a.40.2"),
        ),
        HlsVariant("https://other.example/720.m3u8", 2800000, (1280, 720), ("avc1.4d401f", "mp4a.40.2")),
        HlsVariant(
            "https://cdn.example/show/ep1/1080/index.m3u8",
            5000000,
            (1920, 1080),
            ("avc1.640028", "mp4a.40.2"),
        ),
    )
    assert [v.quality for v in info.variants] == ["SD", "HD", "FHD"]


def test_hls_variant_without_resolution_or_codecs() -> None:
    info = parse_hls("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\naudio.m3u8\n", "http://h.example/a/m.m3u8")
    assert info.variants == (HlsVariant("http://h.example/a/audio.m3u8", 64000, None, ()),)
    assert info.variants[0].quality is None


def test_hls_vod_media_playlist() -> None:
    info = parse_hls(_media(10, endlist=True, kind="VOD"), "https://cdn.example/v/index.m3u8")
    assert info == HlsInfo(
        is_master=False,
        has_endlist=True,
        playlist_type="VOD",
        duration=56.5,
        segment_count=10,
        target_duration=6.0,
    )
    assert not info.is_live


def test_hls_live_and_event_playlists() -> None:
    live = parse_hls(_media(3, endlist=False), "https://cdn.example/live.m3u8")
    assert live.is_live and live.playlist_type is None and live.segment_count == 3
    event = parse_hls(_media(4, endlist=False, kind="EVENT"), "https://cdn.example/event.m3u8")
    assert event.playlist_type == "EVENT" and event.is_live
    finished = parse_hls(_media(4, endlist=True, kind="EVENT"), "https://cdn.example/event.m3u8")
    assert finished.playlist_type == "EVENT" and not finished.is_live


def test_hls_tolerates_bom_and_crlf() -> None:
    info = parse_hls("\ufeff" + _media(2, endlist=True).replace("\n", "\r\n"), "https://cdn.example/i.m3u8")
    assert info.segment_count == 2 and info.duration == 8.5 and info.has_endlist


@pytest.mark.parametrize("text", ["", "<html>Access denied</html>", '{"error": 403}', "seg0.ts\n#EXTM3U\n"])
def test_hls_garbage_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not an HLS playlist"):
        parse_hls(text, "https://cdn.example/x.m3u8")


# --- DASH --------------------------------------------------------------------------------------

MPD = """<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2M30.5S"
     minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period id="0">
    <AdaptationSet mimeType="video/mp4" codecs="avc1.64001f" segmentAlignment="true">
      <Representation id="v360" bandwidth="800000" width="640" height="360"/>
      <Representation id="v720" bandwidth="2800000" width="1280" height="720"/>
    </AdaptationSet>
    <AdaptationSet lang="en">
      <Representation id="a1" bandwidth="128000" mimeType="audio/mp4" codecs="mp4a.40.2"/>
    </AdaptationSet>
  </Period>
</MPD>
"""


def test_dash_static() -> None:
    info = parse_dash(MPD)
    assert info == DashInfo(
        "static",
        150.5,
        (
            DashRepresentation("v360", 800000, 640, 360, "avc1.64001f", "video/mp4"),
            DashRepresentation("v720", 2800000, 1280, 720, "avc1.64001f", "video/mp4"),
            DashRepresentation("a1", 128000, None, None, "mp4a.40.2", "audio/mp4"),
        ),
    )
    assert not info.is_live


def test_dash_dynamic_without_namespace() -> None:
    text = (
        '<MPD type="dynamic" availabilityStartTime="2024-01-01T00:00:00Z"><Period>'
        '<AdaptationSet><Representation id="1" bandwidth="x" width="1920" height="1080"/>'
        "</AdaptationSet></Period></MPD>"
    )
    info = parse_dash(text)
    assert info.is_live and info.duration is None
    assert info.representations == (DashRepresentation("1", None, 1920, 1080, None, None),)


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        '<MPD type="static"><Period>&lol2;</Period></MPD>',
        '<!doctype MPD SYSTEM "http://evil.example/x.dtd"><MPD/>',
    ],
)
def test_dash_doctype_and_entities_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="DOCTYPE or ENTITY"):
        parse_dash(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid XML"),
        ("#EXTM3U\n", "invalid XML"),
        ("<html><body>nope</body></html>", "root element is <html>"),
        ('<MPD type="vod"/>', "neither static nor dynamic"),
        ('<MPD mediaPresentationDuration="2 minutes"/>', "mediaPresentationDuration"),
    ],
)
def test_dash_garbage_is_a_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_dash(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT2M30.5S", 150.5),
        ("PT1H2M3.5S", 3723.5),
        ("P1DT2H", 93600.0),
        ("PT0S", 0.0),
        ("PT10M", 600.0),
        ("P0Y0M0DT0H3M30.000S", 210.0),
        ("PT1,5S", 1.5),
        ("P1W", 604800.0),
    ],
)
def test_iso8601_duration(text: str, seconds: float) -> None:
    assert iso8601_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1H", "PT-5S", "PT5", "T5S"])
def test_iso8601_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        iso8601_duration(text)


# --- captions ----------------------------------------------------------------------------------


TT = 'tt xmlns="http://www.w3.org/ns/ttml"'


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n", "webvtt"),
        (b"\xef\xbb\xbfWEBVTT - with a title\r\n\r\n", "webvtt"),
        (b"WEBVTT", "webvtt"),
        (
            b'<?xml version="1.0" encoding="utf-8"?>\n<tt xmlns="http://www.w3.org/ns/ttml" xml:lang="en">',
            "ttml",
        ),
        (b'<!-- made by hand -->\n<tt:tt xmlns:tt="http://www.w3.org/ns/ttml"><tt:body>', "ttml"),
        (
            '<?xml version="1.0" encoding="utf-16"?><tt xmlns="http://www.w3.org/ns/ttml">'.encode("utf-16"),
            "ttml",
        ),
        (b"1\n00:00:01,000 --> 00:00:02,000\nHello\n", "srt"),
        (b"\xef\xbb\xbf\r\n1\r\n00:00:01,000 --> 00:00:02,500 X1:10 X2:20\r\nHi\r\n", "srt"),
        (b"WEBVTTX\n", None),
        (b"1\n00:00:01.000 --> 00:00:02.000\n", None),  # WebVTT timing without the header
        (b"<html><head><title>404</title>", None),
        (b"<ttx/>", None),
        (b"", None),
        (b"\x00\x01\x02", None),
    ],
)
def test_sniff_caption(head: bytes, kind: str | None) -> None:
    assert sniff_caption(head) == kind


# --- signed URL expiry -------------------------------------------------------------------------

EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
WHEN = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "url",
    [
        f"https://d111.cloudfront.net/v.mp4?Expires={EPOCH}&Signature=abc&Key-Pair-Id=K1",
        f"https://cdn.example/v.m3u8?exp={EPOCH}&sig=abc",
        f"https://cdn.example/v.m3u8?expires={EPOCH}",
        "https://b.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20241231T230000Z"
        "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=ff",
        "https://storage.googleapis.com/b/v.mp4?X-Goog-Date=20241231T235000Z&X-Goog-Expires=600",
        "https://acct.blob.core.windows.net/c/v.mp4?sv=2022-11-02&sr=b&se=2025-01-01T00%3A00%3A00Z&sig=x",
        "https://acct.blob.core.windows.net/c/v.mp4?se=2025-01-01&sig=x",
        f"https://akamai.example/v/master.m3u8?hdnts=st%3D1735600000~exp%3D{EPOCH}~acl%3D%2F*~hmac%3Dab",
        f"https://akamai.example/v/master.m3u8?__token__=exp={EPOCH}~acl=/v/*~hmac=ab",
    ],
)
def test_url_expiry(url: str) -> None:
    expiry = url_expiry(url)
    assert expiry == WHEN
    assert expiry.tzinfo is not None and expiry.utcoffset() == timedelta(0)


def test_url_expiry_earliest_wins_and_offsets_convert() -> None:
    assert url_expiry(f"https://x.example/v?Expires={EPOCH + 60}&se=2025-01-01T01:00:00%2B01:00") == WHEN


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example/video.mp4",
        "https://cdn.example/video.mp4?Expires=soon",
        "https://cdn.example/video.mp4?exp=99999999999999999999",
        "https://b.s3.amazonaws.com/v.mp4?X-Amz-Date=20241231T230000Z",  # no X-Amz-Expires
        "https://b.s3.amazonaws.com/v.mp4?X-Amz-Expires=3600&X-Amz-Date=yesterday",
        "https://acct.blob.core.windows.net/c/v.mp4?se=tomorrow",
        "https://akamai.example/v.m3u8?hdnts=st=1~acl=/*~hmac=ab",
        "not a url at all",
    ],
)
def test_url_without_a_usable_expiry(url: str) -> None:
    assert url_expiry(url) is None


# --- quality -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "quality"),
    [
        (640, 480, "SD"),
        (720, 576, "SD"),
        (1279, 719, "SD"),
        (1024, 576, "SD"),
        (1280, 720, "HD"),
        (1440, 1079, "HD"),
        (1920, 1079, "FHD"),  # a 1920-wide picture fills a 1080p frame
        (1920, 1080, "FHD"),
        (1920, 800, "FHD"),  # letterboxed film
        (1080, 1920, "FHD"),  # portrait
        (2560, 1440, "FHD"),
        (3840, 2160, "UHD"),
        (3840, 1600, "UHD"),
    ],
)
def test_hls_quality(width: int, height: int, quality: str) -> None:
    assert hls_quality(width, height) == quality


def test_hls_quality_rejects_empty_sizes() -> None:
    with pytest.raises(ValueError):
        hls_quality(0, 1080)
