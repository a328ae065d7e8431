"""headend.relay.ring: sequence numbers, eviction by bytes and by age, the latest keyframe kept, cursors."""

from __future__ import annotations

import random

import pytest

from headend.relay.chunker import Chunk, Chunker
from headend.relay.ring import ChunkRing, CursorEvicted
from tests.relay import media
from tests.relay.media import FakeClock


def chunk(size: int = 1880, *, keyframe: bool = False) -> Chunk:
    return Chunk(bytes(size), keyframe=keyframe, psi=b"", pts=None, discontinuity=False, created=0.0)


def test_seqs_start_at_zero_and_grow_by_one(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=1 << 20, clock=clock)
    assert (ring.head_seq, ring.oldest_seq, ring.latest_keyframe_seq, ring.nbytes) == (0, 0, None, 0)
    chunks = [chunk(keyframe=i == 2) for i in range(5)]
    assert [ring.append(c) for c in chunks] == [0, 1, 2, 3, 4]
    assert (ring.head_seq, ring.oldest_seq, ring.latest_keyframe_seq) == (5, 0, 2)
    assert ring.nbytes == 5 * 1880
    assert len(ring) == 5
    assert all(ring.get(i) is c for i, c in enumerate(chunks))
    assert ring.get(5) is None
    assert ring.get(-1) is None
    assert ring.join_seq() == 2


def test_eviction_by_bytes(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=1000, clock=clock)
    for _ in range(3):
        ring.append(chunk(300))
    assert (ring.oldest_seq, ring.nbytes) == (0, 900)
    ring.append(chunk(300))
    assert (ring.oldest_seq, ring.nbytes) == (1, 900)
    assert ring.get(0) is None


def test_eviction_by_age_keeps_the_latest_keyframe(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=2, max_bytes=1 << 20, clock=clock)
    for at, key in [(0.0, True), (1.0, False), (2.0, True), (3.0, False)]:
        clock.now = 1000 + at
        ring.append(chunk(keyframe=key))
    assert ring.oldest_seq == 1  # seq 0 is 3 s old
    clock.now = 1004.5
    ring.append(chunk())
    # seq 2 is 2.5 s old, but it is the latest keyframe: a joiner must find it
    assert (ring.oldest_seq, ring.latest_keyframe_seq, ring.join_seq()) == (2, 2, 2)


def test_a_long_gop_stays_joinable(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=1, max_bytes=1 << 20, clock=clock)
    ring.append(chunk(keyframe=True))
    for _ in range(100):
        clock.advance(0.1)
        ring.append(chunk())
    assert (ring.oldest_seq, ring.join_seq(), len(ring)) == (0, 0, 101)
    ring.append(chunk(keyframe=True))  # now age applies again: only the last second is kept
    assert ring.join_seq() == 101
    assert ring.oldest_seq in (90, 91)


def test_the_byte_cap_may_drop_the_latest_keyframe(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=1000, clock=clock)
    ring.append(chunk(400, keyframe=True))
    ring.append(chunk(400))
    ring.append(chunk(400))
    assert (ring.oldest_seq, ring.latest_keyframe_seq, ring.join_seq()) == (1, None, None)


def test_the_newest_chunk_is_kept_even_when_too_big(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=1000, clock=clock)
    ring.append(chunk(500))
    big = chunk(5000, keyframe=True)
    assert ring.append(big) == 1
    assert (ring.oldest_seq, ring.nbytes, ring.join_seq()) == (1, 5000, 1)
    assert ring.get(1) is big


def test_since(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=5000, clock=clock)
    chunks = [chunk(1000) for _ in range(7)]
    for c in chunks:
        ring.append(c)
    assert ring.oldest_seq == 2
    assert ring.since(4) == chunks[4:]
    assert ring.since(ring.head_seq) == []
    assert ring.since(2, max_bytes=2500) == chunks[2:4]
    assert ring.since(2, max_bytes=10) == chunks[2:3]  # at least one chunk
    with pytest.raises(CursorEvicted) as caught:
        ring.since(1)
    assert (caught.value.seq, caught.value.oldest_seq) == (1, 2)
    with pytest.raises(ValueError, match="ahead"):
        ring.since(8)


def test_clear_keeps_counting(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=1 << 20, clock=clock)
    for _ in range(3):
        ring.append(chunk(keyframe=True))
    ring.clear()
    assert (ring.head_seq, ring.oldest_seq, ring.latest_keyframe_seq, ring.nbytes, len(ring)) == (3, 3, None, 0, 0)
    assert ring.get(2) is None
    assert ring.since(3) == []
    assert ring.append(chunk()) == 3


def test_lookups_stay_right_across_many_evictions(clock: FakeClock) -> None:
    ring = ChunkRing(max_seconds=10, max_bytes=10 * 1880, clock=clock)
    held: dict[int, Chunk] = {}
    rng = random.Random(1)
    for _ in range(5000):
        c = chunk(keyframe=rng.random() < 0.1)
        held[ring.append(c)] = c
    assert ring.head_seq == 5000
    assert len(ring) == 10
    assert ring.since(ring.oldest_seq) == [held[s] for s in range(4990, 5000)]
    assert all(ring.get(s) is held[s] for s in range(4990, 5000))


def test_with_real_chunks_the_join_point_is_always_a_keyframe_chunk(av_ts: bytes, clock: FakeClock) -> None:
    chunker = Chunker(chunk_bytes=16384, clock=clock)
    ring = ChunkRing(max_seconds=1.5, max_bytes=1 << 20, clock=clock)
    for piece in media.random_pieces(av_ts, random.Random(2), smallest=1000, largest=8000):
        clock.advance(len(piece) / 100_000)  # ~10 s of stream over ~10 s of fake time
        for c in chunker.feed(piece):
            ring.append(c)
        join = ring.join_seq()
        if join is not None:
            first = ring.get(join)
            assert first is not None
            assert first.keyframe
            assert first.starts_with_psi
            assert ring.oldest_seq <= join < ring.head_seq
    assert ring.oldest_seq > 0
    assert len(ring.since(ring.oldest_seq)) == ring.head_seq - ring.oldest_seq
