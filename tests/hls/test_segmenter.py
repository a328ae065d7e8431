"""headend.hls.segmenter on real ffmpeg MPEG-TS: GOP-aligned segments that decode on their own, durations,
window and playlist, discontinuities, force-close, and the cost of a 5 Mb/s channel."""

from __future__ import annotations

import dataclasses
import random
import sys
import time
from pathlib import Path

import pytest

from headend.hls.segmenter import Segment, Segmenter
from headend.relay.chunker import Chunk, Chunker
from headend.relay.ring import ChunkRing
from headend.relay.ts import PACKET_SIZE, PTS_WRAP
from tests.relay import media
from tests.relay.media import FakeClock


def chunks_of(data: bytes, clock: FakeClock, seed: int = 0, *, chunker: Chunker | None = None) -> list[Chunk]:
    chunker = chunker or Chunker(clock=clock)
    chunks = [c for piece in media.random_pieces(data, random.Random(seed)) for c in chunker.feed(piece)]
    return chunks + chunker.flush()


def segment_all(segmenter: Segmenter, chunks: list[Chunk]) -> list[Segment]:
    return [s for s in map(segmenter.feed, chunks) if s is not None]


def uri(s: Segment) -> str:
    return f"seg-{s.seq}.ts"


def assert_decodes_alone(
    segment: Segment, tmp_path: Path, frames: int | None = None, *, truncated_end: bool = False
) -> None:
    """The segment starts with PAT + keyframe and decodes on its own; with no errors unless its end is cut short."""
    body = segment.body()
    assert len(body) == segment.size
    assert media.is_pat(body[:PACKET_SIZE])
    path = tmp_path / f"seg{segment.seq}.ts"
    path.write_bytes(body)
    result = media.probe(path)
    if not truncated_end:
        assert result.errors == "", f"segment {segment.seq}"
    assert result.video[0] is True
    if frames is not None:
        assert len(result.video) == frames


def test_segments_start_with_a_keyframe_and_decode_alone(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    chunks = chunks_of(av_ts, clock)
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=4, clock=clock)
    segments = segment_all(segmenter, chunks)
    assert [s.seq for s in segments] == [0, 1, 2, 3]  # the fifth (8-10 s) waits for a keyframe that never comes
    assert [s.duration for s in segments] == [2.0] * 4
    assert not any(s.discontinuity for s in segments)
    for s in segments:
        assert_decodes_alone(s, tmp_path, frames=50)
    # parts are the chunks' own bytes objects, not copies
    data_ids = {id(c.data) for c in chunks}
    assert all(id(part) in data_ids for s in segments for part in s.parts)


@pytest.mark.parametrize(("target", "expected"), [(0.5, 1.0), (1.0, 1.0), (2.0, 2.0), (2.5, 3.0), (3.0, 3.0)])
def test_durations_are_whole_gops_near_the_target(
    av_ts: bytes, clock: FakeClock, target: float, expected: float
) -> None:
    segmenter = Segmenter(target_seconds=target, playlist_length=20, keep_extra=0, clock=clock)
    segments = segment_all(segmenter, chunks_of(av_ts, clock))
    assert segments
    assert all(s.duration == expected for s in segments)
    assert segmenter.target_duration == max(int(expected), -int(-target // 1))


def test_window_get_and_playlist(av_ts: bytes, clock: FakeClock) -> None:
    segmenter = Segmenter(target_seconds=1, playlist_length=2, keep_extra=1, clock=clock)
    assert segmenter.window() == []
    assert segmenter.media_sequence == 0
    segments = segment_all(segmenter, chunks_of(av_ts, clock))
    assert [s.seq for s in segments] == list(range(9))
    assert [s.seq for s in segmenter.window()] == [7, 8]
    assert segmenter.media_sequence == 7
    assert segmenter.get(6) is segments[6]
    assert segmenter.get(5) is None
    assert segmenter.get(9) is None
    assert segmenter.playlist(uri) == (
        b"#EXTM3U\n"
        b"#EXT-X-VERSION:3\n"
        b"#EXT-X-TARGETDURATION:1\n"
        b"#EXT-X-MEDIA-SEQUENCE:7\n"
        b"#EXT-X-INDEPENDENT-SEGMENTS\n"
        b"#EXTINF:1.000,\n"
        b"seg-7.ts\n"
        b"#EXTINF:1.000,\n"
        b"seg-8.ts\n"
    )


def test_discontinuity(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    chunker = Chunker(clock=clock)
    first = chunks_of(av_ts[: len(av_ts) * 55 // 100], clock, chunker=chunker)
    chunker.reset()  # ffmpeg restarted: the same file again, so PTS jumps back
    second = chunks_of(av_ts, clock, seed=1, chunker=chunker)
    segmenter = Segmenter(target_seconds=2, playlist_length=3, keep_extra=2, clock=clock)
    playlists = []
    segments = []
    for c in first + second:
        done = segmenter.feed(c)
        if done is not None:
            segments.append(done)
            playlists.append(segmenter.playlist(uri))
    flags = [s.discontinuity for s in segments]
    cut = flags.index(True)
    assert flags == [False] * cut + [True] + [False] * (len(flags) - cut - 1)
    assert 0 < segments[cut - 1].duration <= 2.0  # closed early by the discontinuity
    assert all(s.duration == 2.0 for s in segments[cut:])
    assert_decodes_alone(segments[cut - 1], tmp_path, truncated_end=True)  # the old ffmpeg died mid-frame
    assert_decodes_alone(segments[cut], tmp_path)
    # while the segment is listed, the tag is; once it scrolled out, the sequence counts it
    assert b"#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg-%d.ts\n" % cut in playlists[cut]
    assert b"DISCONTINUITY-SEQUENCE" not in playlists[cut + 2]
    assert b"#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in playlists[cut + 3]
    assert b"#EXT-X-DISCONTINUITY\n" not in playlists[cut + 3]
    assert segmenter.discontinuity_sequence == 1


def test_long_gop_is_force_closed(long_gop_ts: bytes, av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    segmenter = Segmenter(target_seconds=1, playlist_length=5, keep_extra=0, clock=clock)
    segments = segment_all(segmenter, chunks_of(long_gop_ts, clock))
    assert [s.independent for s in segments] == [True, False]
    assert all(4.0 <= s.duration < 5.0 for s in segments)
    assert_decodes_alone(segments[0], tmp_path, truncated_end=True)  # closed between two chunks, mid-frame
    assert segmenter.target_duration == 5
    assert b"INDEPENDENT-SEGMENTS" not in segmenter.playlist(uri)
    # target duration never decreases, even when shorter segments follow
    chunker = Chunker(clock=clock)
    chunker.reset()
    more = segment_all(segmenter, chunks_of(av_ts, clock, chunker=chunker))
    assert more
    assert all(s.duration == 1.0 for s in more[1:])
    assert segmenter.target_duration == 5


def test_pts_wrap(av_ts: bytes, clock: FakeClock) -> None:
    shift = PTS_WRAP - 3 * 90_000  # the 33-bit counter wraps 3 s into the stream
    chunks = [
        dataclasses.replace(c, pts=None if c.pts is None else (c.pts + shift) % PTS_WRAP)
        for c in chunks_of(av_ts, clock)
    ]
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=0, clock=clock)
    assert [s.duration for s in segment_all(segmenter, chunks)] == [2.0] * 4


def test_created_times_replace_missing_or_implausible_pts(av_ts: bytes, clock: FakeClock) -> None:
    chunks = chunks_of(av_ts, clock)
    base = next(c.pts for c in chunks if c.keyframe)
    assert base is not None

    def media_time(c: Chunk) -> float:
        return 0.0 if c.pts is None else (c.pts - base) / 90_000

    timed = [dataclasses.replace(c, created=1000 + media_time(c)) for c in chunks if c.pts is not None]
    no_pts = [dataclasses.replace(c, pts=None) for c in timed]
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=0, clock=clock)
    assert [round(s.duration, 6) for s in segment_all(segmenter, no_pts)] == [2.0] * 4
    # a keyframe whose PTS jumps an hour ahead: its segment's duration comes from the clock
    jumped = [dataclasses.replace(c, pts=c.pts + 3600 * 90_000) if c.pts and media_time(c) >= 4 else c for c in timed]
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=0, clock=clock)
    assert [round(s.duration, 6) for s in segment_all(segmenter, jumped)] == [2.0, 2.0, 2.0, 2.0]


def test_psi_is_put_in_front_when_the_muxer_does_not_repeat_it(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=0, clock=clock)
    segments = segment_all(segmenter, chunks_of(media.strip_repeated_psi(av_ts), clock))
    assert len(segments) == 4
    assert all(len(s.parts[0]) == 2 * PACKET_SIZE for s in segments[1:])
    for s in segments:
        assert_decodes_alone(s, tmp_path, frames=50)


def test_chunks_before_the_first_keyframe_are_skipped(av_ts: bytes, clock: FakeClock) -> None:
    chunks = chunks_of(av_ts, clock)
    first_keyframe, second_keyframe = [i for i, c in enumerate(chunks) if c.keyframe][:2]
    assert second_keyframe > first_keyframe + 1
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=0, clock=clock)
    segments = segment_all(segmenter, chunks[first_keyframe + 1 :])
    assert segments[0].parts[0] is chunks[second_keyframe].data


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="target_seconds"):
        Segmenter(target_seconds=0, playlist_length=3, keep_extra=0)


def test_sixty_seconds_of_5mbps_through_chunker_ring_and_segmenter(
    cbr5m_ts: bytes, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    reads = [cbr5m_ts[i : i + 65536] for i in range(0, len(cbr5m_ts), 65536)]
    chunker = Chunker(clock=clock)
    ring = ChunkRing(max_seconds=12, max_bytes=32 << 20, clock=clock)
    segmenter = Segmenter(target_seconds=2, playlist_length=6, keep_extra=4, clock=clock)
    started = time.perf_counter()
    segments = 0
    for read in reads:
        clock.advance(60 / len(reads))
        for chunk in chunker.feed(read) + chunker.poll():
            ring.append(chunk)
            segments += segmenter.feed(chunk) is not None
    for chunk in chunker.flush():
        ring.append(chunk)
        segments += segmenter.feed(chunk) is not None
    elapsed = time.perf_counter() - started
    assert ring.head_seq > 500
    assert segments == 29  # 60 s, GOP 2 s: the last segment waits for a keyframe
    assert ring.join_seq() is not None
    with capsys.disabled():
        sys.stdout.write(
            f"\n60 s of {len(cbr5m_ts) * 8 / 60e6:.1f} Mb/s TS ({len(cbr5m_ts) // PACKET_SIZE} packets,"
            f" {len(reads)} reads, {ring.head_seq} chunks, {segments} segments): {elapsed * 1000:.0f} ms\n"
        )
