"""Small test media made by the system's ffmpeg, and an ffprobe oracle that counts decodable frames.

Stdlib only (plus the ffmpeg/ffprobe binaries). Files are written to a temporary name and renamed, so
parallel test workers never see a half-written file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; install it with: sudo apt-get install ffmpeg")
    return found


def make_test_ts(
    path: Path,
    *,
    seconds: float = 6,
    size: str = "320x180",
    fps: int = 25,
    gop: int = 25,
    video_kbps: int = 400,
) -> Path:
    """Write an H.264 + AAC MPEG-TS (testsrc2 + sine, fixed GOP, x264 ultrafast) to ``path`` unless it exists."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    argv = [
        _binary("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", f"{seconds:g}", "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-b:v", f"{video_kbps}k", "-maxrate", f"{video_kbps}k", "-bufsize", f"{video_kbps * 2}k",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "mpegts", str(tmp),
    ]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    tmp.replace(path)
    return path


def ffprobe_frames(data_or_path: bytes | Path) -> tuple[str, int]:
    """(video codec name, number of decoded video frames) of a TS file or of TS bytes; ("", 0) if none."""
    if isinstance(data_or_path, Path):
        return _probe(data_or_path)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.ts"
        path.write_bytes(data_or_path)
        return _probe(path)


def _probe(path: Path) -> tuple[str, int]:
    argv = [
        _binary("ffprobe"), "-v", "error", "-select_streams", "v:0", "-count_frames",
        "-show_entries", "stream=codec_name,nb_read_frames", "-of", "compact=p=0:nk=1", str(path),
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    line = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    codec, _, frames = line.partition("|")
    return codec, int(frames) if frames.strip().isdigit() else 0


__all__ = ["ffprobe_frames", "make_test_ts"]
