"""A live stream a crawled site declares, as the channel's live feed; never a short-form video.

The channel config says whether there is a live row (`live_stream`), and gives the stream's
titles and thumbnails; a page declaring a live stream (a BroadcastEvent with isLiveBroadcast,
or `<video:live>yes</video:live>`) gives its current URL. Without a live row, or for a second
live stream, the page is reported as `live-video`.
"""

from __future__ import annotations

from dataclasses import replace

from roku_feed.channel import Channel
from roku_feed.sources import Skipped
from roku_feed.sources.pages import LiveVideo


def with_live(channel: Channel, live: list[LiveVideo]) -> tuple[Channel, list[Skipped]]:
    """The channel with its live stream at the first live video found, and the live videos left out."""
    if not live:
        return channel, []
    stream = channel.live_stream
    if stream is None:
        return channel, [
            Skipped(
                v.source,
                "live-video",
                f"{v.source}: a live stream ({v.url}); the channel has no live row (live_stream)",
            )
            for v in live
        ]
    first, *others = live
    found = replace(stream, url=first.url, video_type=first.type or stream.video_type)
    skipped = [
        Skipped(
            v.source,
            "live-video",
            f"{v.source}: a second live stream ({v.url}); {first.source} is the live feed",
        )
        for v in others
    ]
    return replace(channel, live_stream=found), skipped
