"""headend.relay.chunker on real ffmpeg MPEG-TS: exact reassembly, keyframe chunks a decoder can join, damage,
timing and discontinuities."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from headend.relay import ts
from headend.relay.chunker import Chunk, Chunker
from headend.relay.ts import PACKET_SIZE
from tests.relay import media
from tests.relay.media import FakeClock, packets


def run(chunker: Chunker, pieces: Iterable[bytes]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for piece in pieces:
        chunks += chunker.feed(piece)
    return chunks + chunker.flush()


def joined(chunks: Iterable[Chunk]) -> bytes:
    return b"".join(c.data for c in chunks)


def first_pes_pts(data: bytes, pid: int) -> int | None:
    for packet in packets(data):
        if ts.packet_pid(packet) == pid and ts.unit_start(packet):
            return ts.pes_pts(packet)
    return None


def assert_well_formed(chunks: list[Chunk], limit: int = 65536) -> None:
    for chunk in chunks:
        assert 0 < len(chunk.data) <= limit
        assert len(chunk.data) % PACKET_SIZE == 0
        syncs = chunk.data[::PACKET_SIZE]
        assert syncs == b"G" * len(syncs)


def tiny_then_random(data: bytes, seed: int) -> list[bytes]:
    """1-16 byte reads for the first 20 KiB, then log-uniform reads of 1 byte .. 100 KiB."""
    rng = random.Random(seed)
    head = list(media.random_pieces(data[:20480], rng, smallest=1, largest=16))
    return head + list(media.random_pieces(data[20480:], rng))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_reads_reassemble_exactly(av_ts: bytes, clock: FakeClock, seed: int) -> None:
    chunks = run(Chunker(clock=clock), tiny_then_random(av_ts + av_ts[:100], seed))
    assert joined(chunks) == av_ts
    assert_well_formed(chunks)
    keyframes = [c for c in chunks if c.keyframe]
    assert len(keyframes) == media.AV.keyframes
    assert all(c.starts_with_psi for c in keyframes)
    assert not any(c.discontinuity for c in chunks)


@pytest.mark.parametrize("chunk_bytes", [3 * PACKET_SIZE, 10_000, 65536, 1 << 20])
def test_keyframe_chunks_start_with_pat_at_any_chunk_size(av_ts: bytes, clock: FakeClock, chunk_bytes: int) -> None:
    chunks = run(Chunker(chunk_bytes=chunk_bytes, clock=clock), media.random_pieces(av_ts, random.Random(5)))
    assert joined(chunks) == av_ts
    assert_well_formed(chunks, chunk_bytes - chunk_bytes % PACKET_SIZE)
    keyframes = [c for c in chunks if c.keyframe]
    assert len(keyframes) == media.AV.keyframes
    assert all(c.starts_with_psi and media.is_pat(c.data[:PACKET_SIZE]) for c in keyframes)


def test_chunk_pts_and_psi(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    chunker = Chunker(chunk_bytes=20_000, clock=clock)
    chunks = run(chunker, media.random_pieces(av_ts, random.Random(3)))
    path = tmp_path / "av.ts"
    path.write_bytes(av_ts)
    assert [c.pts for c in chunks if c.keyframe] == media.video_keyframe_pts(path)
    for chunk in chunks:
        assert chunk.pts == first_pes_pts(chunk.data, 0x100)
        assert chunk.psi == b"" or media.is_pat(chunk.psi[:PACKET_SIZE])
    assert len(chunker.psi) == 2 * PACKET_SIZE
    assert ts.parse_pat(chunker.psi[:PACKET_SIZE]) == 0x1000
    program = ts.parse_pmt(chunker.psi[PACKET_SIZE:])
    assert program is not None
    assert program.video is not None


def assert_joinable_everywhere(chunks: list[Chunk], tmp_path: Path, total_frames: int) -> None:
    """Each keyframe chunk to the end, with PSI in front when it lacks it, decodes from a keyframe, error-free."""
    keyframe_indexes = [i for i, c in enumerate(chunks) if c.keyframe]
    assert keyframe_indexes
    for i in keyframe_indexes:
        first = chunks[i]
        prefix = b"" if first.starts_with_psi else first.psi
        path = tmp_path / f"join{i}.ts"
        path.write_bytes(prefix + joined(chunks[i:]))
        result = media.probe(path)
        assert result.errors == "", f"joining at chunk {i}"
        assert result.video[0] is True
        assert 0 < len(result.video) <= total_frames


def test_joining_at_any_keyframe_chunk_decodes_cleanly(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    chunks = run(Chunker(clock=clock), media.random_pieces(av_ts, random.Random(11)))
    assert_joinable_everywhere(chunks, tmp_path, total_frames=250)


def test_keyframes_found_without_random_access_flag(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    stripped = media.strip_rai(av_ts)
    chunks = run(Chunker(clock=clock), media.random_pieces(stripped, random.Random(12)))
    assert joined(chunks) == stripped
    assert sum(c.keyframe for c in chunks) == media.AV.keyframes
    assert_joinable_everywhere(chunks, tmp_path, total_frames=250)


def with_sps_in_a_p_frame(data: bytes) -> bytes:
    """The stream with the access unit delimiter of its 5th video frame (a P frame) turned into an SPS NAL header."""
    out = bytearray(data)
    starts = [i for i, p in enumerate(packets(data)) if ts.packet_pid(p) == 0x100 and ts.unit_start(p)]
    at = starts[4] * PACKET_SIZE
    assert not ts.random_access_indicator(data[at : at + PACKET_SIZE])
    aud = out.find(b"\x00\x00\x00\x01\x09", at, at + PACKET_SIZE)
    out[aud + 4] = 0x67
    return bytes(out)


def test_the_flag_alone_decides_once_the_muxer_sets_it(av_ts: bytes, clock: FakeClock) -> None:
    fake_sps = with_sps_in_a_p_frame(av_ts)
    chunks = run(Chunker(clock=clock), [fake_sps])
    assert sum(c.keyframe for c in chunks) == media.AV.keyframes
    # without any flag, the payload fallback has to believe the SPS
    chunks = run(Chunker(clock=clock), [media.strip_rai(fake_sps)])
    assert sum(c.keyframe for c in chunks) == media.AV.keyframes + 1


def test_joiners_get_psi_when_the_muxer_does_not_repeat_it(av_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    sparse = media.strip_repeated_psi(av_ts)
    chunks = run(Chunker(clock=clock), media.random_pieces(sparse, random.Random(13)))
    assert joined(chunks) == sparse
    keyframes = [c for c in chunks if c.keyframe]
    assert len(keyframes) == media.AV.keyframes
    assert [c.starts_with_psi for c in keyframes] == [True] + [False] * (len(keyframes) - 1)
    assert all(len(c.psi) == 2 * PACKET_SIZE for c in keyframes)
    assert_joinable_everywhere(chunks, tmp_path, total_frames=250)


def test_hevc_keyframe_chunks(hevc_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    chunks = run(Chunker(clock=clock), media.random_pieces(media.strip_rai(hevc_ts), random.Random(14)))
    assert sum(c.keyframe for c in chunks) == media.HEVC.keyframes
    assert_joinable_everywhere(chunks, tmp_path, total_frames=100)


def test_audio_only_random_access_points(audio_only_ts: bytes, clock: FakeClock, tmp_path: Path) -> None:
    chunks = run(Chunker(clock=clock), media.random_pieces(audio_only_ts, random.Random(15)))
    assert joined(chunks) == audio_only_ts
    keyframe_pts = [c.pts for c in chunks if c.keyframe]
    assert 5 <= len(keyframe_pts) <= 7  # 6 s of audio, one RAP per second
    assert all(pts is not None for pts in keyframe_pts)
    steps = [b - a for a, b in itertools.pairwise(keyframe_pts) if a is not None and b is not None]
    assert all(ts.PTS_HZ <= step < 2 * ts.PTS_HZ for step in steps)
    last = max(i for i, c in enumerate(chunks) if c.keyframe)
    path = tmp_path / "audio.ts"
    path.write_bytes(chunks[last].psi + joined(chunks[last:]))
    result = media.probe(path)
    assert result.errors == ""
    assert result.frames


def test_garbage_and_truncated_packets_are_skipped(av_ts: bytes, clock: FakeClock) -> None:
    rng = random.Random(21)
    original = list(packets(av_ts))
    damaged = (
        rng.randbytes(500)
        + b"".join(original[:300])
        + original[300][:100]  # truncated packet
        + rng.randbytes(333)
        + b"".join(original[301:600])
        + original[600][:120]  # truncated packet, directly followed by a good one
        + b"".join(original[601:])
        + original[0][:50]  # truncated at the very end
    )
    chunks = run(Chunker(clock=clock), media.random_pieces(damaged, rng))
    assert_well_formed(chunks)
    assert list(packets(joined(chunks))) == original[:300] + original[301:600] + original[601:]


def test_packets_with_transport_error_are_dropped(av_ts: bytes, clock: FakeClock) -> None:
    original = list(packets(av_ts))
    flagged = bytearray(original[500])
    flagged[1] |= 0x80
    stream = b"".join(original[:500]) + bytes(flagged) + b"".join(original[501:])
    chunks = run(Chunker(clock=clock), [stream])
    assert list(packets(joined(chunks))) == original[:500] + original[501:]


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_never_crash(seed: int, clock: FakeClock) -> None:
    rng = random.Random(seed)
    noise = bytes(rng.choice(b"G\x00\x40\x01") for _ in range(50_000)) + rng.randbytes(150_000)
    chunks = run(Chunker(clock=clock), media.random_pieces(noise, rng, largest=4096))
    assert_well_formed(chunks)


def test_truncated_stream_flushes_whole_packets(av_ts: bytes, clock: FakeClock) -> None:
    cut = len(av_ts) // 2 + 77
    chunker = Chunker(clock=clock)
    chunks = run(chunker, media.random_pieces(av_ts[:cut], random.Random(4)))
    assert joined(chunks) == av_ts[: cut - cut % PACKET_SIZE]
    assert chunker.flush() == []


def test_max_delay_cuts_with_a_fake_clock(av_ts: bytes, clock: FakeClock) -> None:
    original = list(packets(av_ts))  # packets 10..45 hold no keyframe and no PAT
    chunker = Chunker(max_delay=0.1, clock=clock)
    assert chunker.feed(b"".join(original[10:20])) == []
    clock.advance(0.05)
    assert chunker.feed(b"".join(original[20:30])) == []
    assert chunker.poll() == []
    clock.advance(0.06)
    [late] = chunker.feed(original[30])
    # the last packet of a read waits for the next sync byte, which vouches for its length
    assert late.data == b"".join(original[10:30])
    assert late.created == clock.now
    assert chunker.poll() == []
    chunker.feed(b"".join(original[31:35]) + original[35][:90])
    clock.advance(0.099)
    assert chunker.poll() == []
    clock.advance(0.002)
    [polled] = chunker.poll()
    assert polled.data == b"".join(original[30:35])  # the partial packet waits
    [rest] = chunker.feed(original[35][90:]) + chunker.flush()
    assert rest.data == original[35]


def test_delay_cuts_keep_keyframe_chunks_starting_with_pat(av_ts: bytes, clock: FakeClock) -> None:
    chunker = Chunker(max_delay=0.1, clock=clock)
    chunks = []
    for piece in media.random_pieces(av_ts, random.Random(30), smallest=100, largest=3000):
        clock.advance(0.03)
        chunks += chunker.feed(piece) + chunker.poll()
    chunks += chunker.flush()
    assert joined(chunks) == av_ts
    assert len(chunks) > 200  # most cuts were made by the delay, not the size
    keyframes = [c for c in chunks if c.keyframe]
    assert len(keyframes) == media.AV.keyframes
    assert all(c.starts_with_psi for c in keyframes)


def test_a_quiet_source_gets_its_last_packet_published_by_poll(av_ts: bytes, clock: FakeClock) -> None:
    original = list(packets(av_ts))
    chunker = Chunker(max_delay=0.1, clock=clock)
    assert chunker.feed(b"".join(original[40:45])) == []
    clock.advance(0.1)
    [chunk] = chunker.poll()
    assert chunk.data == b"".join(original[40:45])
    assert chunker.flush() == []


def test_reset_marks_a_discontinuity(av_ts: bytes, clock: FakeClock) -> None:
    chunker = Chunker(clock=clock)
    half = av_ts[: len(av_ts) // 2 + 50]
    before = [c for piece in media.random_pieces(half, random.Random(8)) for c in chunker.feed(piece)]
    assert chunker.psi
    chunker.reset()
    assert chunker.psi == b""
    after = run(chunker, media.random_pieces(av_ts, random.Random(9)))
    split = next(i for i, c in enumerate(after) if c.discontinuity)
    tail, fresh = after[:split], after[split:]
    # the packets pending at reset() are published first, without the flag; the partial packet is dropped
    assert joined(before + tail) == half[: len(half) - len(half) % PACKET_SIZE]
    assert not any(c.discontinuity for c in fresh[1:])
    assert joined(fresh) == av_ts
    assert sum(c.keyframe for c in fresh) == media.AV.keyframes


def test_feed_accepts_any_bytes_like(av_ts: bytes, clock: FakeClock) -> None:
    chunker = Chunker(clock=clock)
    chunks = chunker.feed(memoryview(av_ts)[:100_000]) + chunker.feed(bytearray(av_ts[100_000:])) + chunker.flush()
    assert joined(chunks) == av_ts


def test_chunk_bytes_must_hold_a_packet() -> None:
    with pytest.raises(ValueError, match="chunk_bytes"):
        Chunker(chunk_bytes=100)
