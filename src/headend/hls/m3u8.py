"""HLS media playlist text (RFC 8216), rendered from segments. Pure: same input, same bytes.

Promises: ``#EXTM3U``, ``#EXT-X-VERSION:3``, ``#EXT-X-TARGETDURATION``, ``#EXT-X-MEDIA-SEQUENCE``,
``#EXT-X-DISCONTINUITY-SEQUENCE`` (only when > 0), ``#EXT-X-INDEPENDENT-SEGMENTS`` (only when every listed segment
starts with a keyframe), then per segment an optional ``#EXT-X-DISCONTINUITY``, ``#EXTINF:<seconds, 3 decimals>,``
and its URI; ``#EXT-X-ENDLIST`` when ``ended``. Lines end with ``\\n``; the text is ASCII/UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headend.hls.segmenter import Segment


def render_media_playlist(
    segments: Sequence[Segment],
    *,
    target_duration: int,
    media_sequence: int,
    discontinuity_sequence: int,
    uri: Callable[[Segment], str],
    ended: bool = False,
) -> bytes:
    """The media playlist listing ``segments`` (oldest first); ``uri(segment)`` gives each segment's URI."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}",
    ]
    if discontinuity_sequence > 0:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    if all(segment.independent for segment in segments):
        lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{segment.duration:.3f},")
        lines.append(_checked_uri(uri(segment)))
    if ended:
        lines.append("#EXT-X-ENDLIST")
    lines.append("")
    return "\n".join(lines).encode()


def _checked_uri(value: str) -> str:
    if not value or "\n" in value or "\r" in value:
        raise ValueError(f"invalid segment URI {value!r}")
    return value


__all__ = ["render_media_playlist"]
