"""headend.relay.ts against real ffmpeg output: PSI parsing, PTS, keyframes (flag and payload fallback), sync."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from headend.relay import ts
from tests.relay import media
from tests.relay.media import packets


def keyframe_pts(data: bytes) -> list[int | None]:
    program = media.program(data)
    assert program.video is not None
    video = program.video
    return [
        ts.pes_pts(p)
        for p in packets(data)
        if ts.packet_pid(p) == video.pid and ts.unit_start(p) and ts.is_keyframe(p, video.codec)
    ]


def write(tmp_path: Path, data: bytes, name: str = "in.ts") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pat_and_pmt_of_ffmpeg_output(av_ts: bytes) -> None:
    assert media.pmt_pid(av_ts) == 0x1000
    program = media.program(av_ts)
    assert program.program_number == 1
    assert program.video == ts.ElementaryStream(0x100, 0x1B, "video", "h264")
    assert program.audio == ts.ElementaryStream(0x101, 0x0F, "audio", "aac")
    assert program.pcr_pid == 0x100


def test_hevc_stream_type(hevc_ts: bytes) -> None:
    program = media.program(hevc_ts)
    assert program.video is not None
    assert (program.video.stream_type, program.video.codec) == (0x24, "hevc")
    assert program.audio is None


def test_audio_only_program(audio_only_ts: bytes) -> None:
    program = media.program(audio_only_ts)
    assert program.video is None
    assert program.audio is not None
    assert program.audio.codec == "aac"


def test_psi_with_a_bad_crc_is_rejected(av_ts: bytes) -> None:
    pat = next(p for p in packets(av_ts) if ts.packet_pid(p) == ts.PAT_PID)
    damaged = bytearray(pat)
    damaged[15] ^= 0x01  # inside the program loop
    assert ts.parse_pat(pat) == 0x1000
    assert ts.parse_pat(bytes(damaged)) is None
    assert ts.parse_pmt(pat) is None  # a PAT is not a PMT


def test_crc32_mpeg2_check_value() -> None:
    assert ts.crc32_mpeg2(b"123456789") == 0x0376E6E7


def test_keyframes_and_their_pts_match_ffprobe(av_ts: bytes, tmp_path: Path) -> None:
    found = keyframe_pts(av_ts)
    assert len(found) == media.AV.keyframes == 10
    assert found == media.video_keyframe_pts(write(tmp_path, av_ts))


def test_keyframes_without_random_access_indicator(av_ts: bytes) -> None:
    stripped = media.strip_rai(av_ts)
    assert not any(ts.random_access_indicator(p) for p in packets(stripped))
    assert keyframe_pts(stripped) == keyframe_pts(av_ts)


def test_hevc_keyframes_with_and_without_flag(hevc_ts: bytes, tmp_path: Path) -> None:
    found = keyframe_pts(hevc_ts)
    assert len(found) == media.HEVC.keyframes == 4
    assert found == media.video_keyframe_pts(write(tmp_path, hevc_ts))
    assert keyframe_pts(media.strip_rai(hevc_ts)) == found


def test_every_video_pes_has_a_pts(av_ts: bytes) -> None:
    starts = [p for p in packets(av_ts) if ts.packet_pid(p) == 0x100 and ts.unit_start(p)]
    pts = [ts.pes_pts(p) for p in starts]
    assert len(pts) == 250
    assert None not in pts


def test_pts_delta_wraps() -> None:
    assert ts.pts_delta(100, 3700) == 3600
    assert ts.pts_delta(3700, 100) == -3600
    assert ts.pts_delta(ts.PTS_WRAP - 1800, 1800) == 3600
    assert ts.pts_delta(1800, ts.PTS_WRAP - 1800) == -3600


def test_find_sync_skips_garbage(av_ts: bytes) -> None:
    rng = random.Random(7)
    garbage = rng.randbytes(1000)
    data = garbage + av_ts[: 10 * ts.PACKET_SIZE]
    assert ts.find_sync(data) == len(garbage)
    assert ts.find_sync(av_ts, 1) == ts.PACKET_SIZE
    assert ts.find_sync(b"\x00" * 500) == -1
    # near the end a candidate is only "not disproven yet"
    assert ts.find_sync(b"\x00G\x00") == 1


def test_first_bad_sync(av_ts: bytes) -> None:
    data = bytearray(av_ts[: 5 * ts.PACKET_SIZE])
    assert ts.first_bad_sync(data, 0, 5) == -1
    data[3 * ts.PACKET_SIZE] = 0
    assert ts.first_bad_sync(data, 0, 5) == 3


@pytest.mark.parametrize("seed", range(5))
def test_malformed_packets_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2000):
        packet = b"G" + rng.randbytes(ts.PACKET_SIZE - 1)
        ts.psi_section(packet)
        ts.parse_pat(packet)
        ts.parse_pmt(packet)
        ts.pes_pts(packet)
        ts.pes_payload(packet)
        for codec in ("h264", "hevc", "mpeg2video", "mpeg4", "aac"):
            ts.is_keyframe(packet, codec)
