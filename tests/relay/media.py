"""Real MPEG-TS test media made by ffmpeg, plus small helpers to inspect and damage it.

Streams are generated once per test session (lavfi testsrc2 + sine, libx264/libx265 ultrafast, 320x180, fixed GOP)
and cached under the session's base temp directory.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headend.relay import ts
from headend.relay.ts import PACKET_SIZE


@dataclass(frozen=True, slots=True)
class MediaSpec:
    name: str
    seconds: float
    gop: int = 25  # frames; 25 fps, so 25 = 1 s
    video: str = "libx264"  # "" for audio only
    audio: bool = True
    muxrate: str = ""  # e.g. "5M": constant-rate mux padded with null packets

    @property
    def keyframes(self) -> int:
        return 0 if not self.video else -(-round(self.seconds * 25) // self.gop)


AV = MediaSpec("av", seconds=10, gop=25)
LONG_GOP = MediaSpec("long_gop", seconds=10, gop=250)
AUDIO_ONLY = MediaSpec("audio_only", seconds=6, video="")
HEVC = MediaSpec("hevc", seconds=4, gop=25, video="libx265", audio=False)
CBR_5M = MediaSpec("cbr5m", seconds=60, gop=50, muxrate="5M")


def ffmpeg_argv(spec: MediaSpec, out: Path) -> list[str]:
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    if spec.video:
        argv += ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25"]
    if spec.audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    argv += ["-t", str(spec.seconds)]
    if spec.video == "libx264":
        argv += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(spec.gop), "-keyint_min", str(spec.gop)]
        argv += ["-sc_threshold", "0", "-pix_fmt", "yuv420p"]
    elif spec.video == "libx265":
        params = f"log-level=error:keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0"
        argv += ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", params, "-pix_fmt", "yuv420p"]
    if spec.audio:
        argv += ["-c:a", "aac", "-b:a", "64k"]
    if spec.muxrate:
        argv += ["-muxrate", spec.muxrate]
    return [*argv, "-f", "mpegts", str(out)]


def make_media(spec: MediaSpec, factory: pytest.TempPathFactory) -> bytes:
    """The spec's stream as bytes, generated on first use in this session."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg/ffprobe not installed")
    folder = factory.getbasetemp() / "headend-media"
    folder.mkdir(exist_ok=True)
    path = folder / f"{spec.name}.ts"
    if not path.exists():
        tmp = path.with_suffix(".part.ts")
        subprocess.run(ffmpeg_argv(spec, tmp), check=True, capture_output=True, timeout=60)
        tmp.rename(path)
    return path.read_bytes()


# --- inspecting -------------------------------------------------------------------------------------------


def packets(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data) - len(data) % PACKET_SIZE, PACKET_SIZE):
        yield data[i : i + PACKET_SIZE]


def pmt_pid(data: bytes) -> int:
    for packet in packets(data):
        if ts.packet_pid(packet) == ts.PAT_PID:
            pid = ts.parse_pat(packet)
            if pid is not None:
                return pid
    raise AssertionError("no PAT")


def program(data: bytes) -> ts.ProgramMap:
    pid = pmt_pid(data)
    for packet in packets(data):
        if ts.packet_pid(packet) == pid:
            found = ts.parse_pmt(packet)
            if found is not None:
                return found
    raise AssertionError("no PMT")


def strip_rai(data: bytes) -> bytes:
    """The stream with every random_access_indicator cleared (exercises the payload fallback)."""
    out = bytearray(data)
    for i in range(0, len(out), PACKET_SIZE):
        if out[i + 3] & 0x20 and out[i + 4] > 0:
            out[i + 5] &= ~0x40 & 0xFF
    return bytes(out)


def strip_repeated_psi(data: bytes) -> bytes:
    """The stream with PAT and PMT sent only once, at the start (like muxers that do not repeat them per GOP)."""
    psi_pids = {ts.PAT_PID, pmt_pid(data)}
    seen: set[int] = set()
    kept = []
    for packet in packets(data):
        pid = ts.packet_pid(packet)
        if pid in psi_pids:
            if pid in seen:
                continue
            seen.add(pid)
        kept.append(packet)
    return b"".join(kept)


def is_pat(packet: bytes) -> bool:
    return packet[0] == ts.SYNC_BYTE and ts.packet_pid(packet) == ts.PAT_PID and ts.unit_start(packet)


# --- ffprobe ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    frames: list[tuple[str, bool]]  # (media_type, key_frame) in decode output order
    errors: str  # everything ffprobe -v error printed on stderr

    @property
    def video(self) -> list[bool]:
        return [key for kind, key in self.frames if kind == "video"]


_PROBE_FRAMES = [
    "ffprobe",
    "-v",
    "error",
    "-show_frames",
    "-show_entries",
    "frame=media_type,key_frame",
    "-of",
    "csv=p=0",
]
_PROBE_PACKETS = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets"]
_PROBE_PACKETS += ["-show_entries", "packet=pts,flags", "-of", "csv=p=0"]


def probe(path: Path) -> Probe:
    """Decode every frame of a file with ffprobe."""
    result = subprocess.run(
        [*_PROBE_FRAMES, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    frames = []
    for line in result.stdout.splitlines():
        fields = line.split(",")  # side data (e.g. x264's SEI) may follow the two fields asked for
        frames.append((fields[0], len(fields) > 1 and fields[1] == "1"))
    return Probe(frames, result.stderr.strip())


def video_keyframe_pts(path: Path) -> list[int]:
    """PTS of the video packets ffprobe flags as keyframes."""
    result = subprocess.run(
        [*_PROBE_PACKETS, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = []
    for line in result.stdout.splitlines():
        pts, _, flags = line.partition(",")
        if flags.startswith("K"):
            found.append(int(pts))
    return found


# --- feeding ----------------------------------------------------------------------------------------------


def random_pieces(data: bytes, rng: random.Random, *, smallest: int = 1, largest: int = 100 * 1024) -> Iterator[bytes]:
    """``data`` in pieces of log-uniformly random size."""
    pos = 0
    while pos < len(data):
        size = int(smallest * (largest / smallest) ** rng.random())
        yield data[pos : pos + size]
        pos += size


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
