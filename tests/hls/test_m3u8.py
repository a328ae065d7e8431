"""headend.hls.m3u8: golden media playlists."""

from __future__ import annotations

import pytest

from headend.hls.m3u8 import render_media_playlist
from headend.hls.segmenter import Segment


def segment(seq: int, duration: float, *, discontinuity: bool = False, independent: bool = True) -> Segment:
    return Segment(seq, (b"",), 0, duration, discontinuity, created=0.0, independent=independent)


def uri(s: Segment) -> str:
    return f"seg-{s.seq}.ts"


def test_live_playlist() -> None:
    text = render_media_playlist(
        [segment(7, 2.0), segment(8, 1.96), segment(9, 2.0004)],
        target_duration=2,
        media_sequence=7,
        discontinuity_sequence=0,
        uri=uri,
    )
    assert text == (
        b"#EXTM3U\n"
        b"#EXT-X-VERSION:3\n"
        b"#EXT-X-TARGETDURATION:2\n"
        b"#EXT-X-MEDIA-SEQUENCE:7\n"
        b"#EXT-X-INDEPENDENT-SEGMENTS\n"
        b"#EXTINF:2.000,\n"
        b"seg-7.ts\n"
        b"#EXTINF:1.960,\n"
        b"seg-8.ts\n"
        b"#EXTINF:2.000,\n"
        b"seg-9.ts\n"
    )


def test_discontinuities_and_end() -> None:
    text = render_media_playlist(
        [segment(40, 6.0), segment(41, 3.5, discontinuity=True), segment(42, 6.006)],
        target_duration=7,
        media_sequence=40,
        discontinuity_sequence=3,
        uri=lambda s: f"/hls/1/{s.seq}.ts?token=abc",
        ended=True,
    )
    assert text == (
        b"#EXTM3U\n"
        b"#EXT-X-VERSION:3\n"
        b"#EXT-X-TARGETDURATION:7\n"
        b"#EXT-X-MEDIA-SEQUENCE:40\n"
        b"#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
        b"#EXT-X-INDEPENDENT-SEGMENTS\n"
        b"#EXTINF:6.000,\n"
        b"/hls/1/40.ts?token=abc\n"
        b"#EXT-X-DISCONTINUITY\n"
        b"#EXTINF:3.500,\n"
        b"/hls/1/41.ts?token=abc\n"
        b"#EXTINF:6.006,\n"
        b"/hls/1/42.ts?token=abc\n"
        b"#EXT-X-ENDLIST\n"
    )


def test_a_segment_without_a_keyframe_drops_the_independent_tag() -> None:
    text = render_media_playlist(
        [segment(0, 8.0), segment(1, 8.0, independent=False)],
        target_duration=8,
        media_sequence=0,
        discontinuity_sequence=0,
        uri=uri,
    )
    assert b"INDEPENDENT" not in text
    assert text.startswith(b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF")


def test_empty_playlist() -> None:
    text = render_media_playlist([], target_duration=2, media_sequence=0, discontinuity_sequence=0, uri=uri)
    expected = (
        b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    )
    assert text == expected


@pytest.mark.parametrize("bad", ["", "a\nb", "a\rb"])
def test_uris_cannot_break_the_playlist(bad: str) -> None:
    with pytest.raises(ValueError, match="URI"):
        render_media_playlist(
            [segment(0, 1.0)], target_duration=1, media_sequence=0, discontinuity_sequence=0, uri=lambda s: bad
        )
