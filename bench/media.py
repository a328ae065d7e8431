"""The source every system relays: 60 s of 720p25 H.264 CBR 4.5 Mb/s + AAC in MPEG-TS, a 2 s GOP.

Encoded once with ffmpeg (pinned to CPU1) and cached under ``bench/.cache/``; every system then loops it
with ``-re -stream_loop -1 -c copy``, so no encoding happens during a measurement.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.procs import ROOT

CACHE = ROOT / "bench" / ".cache"
SECONDS = 60
VIDEO_ARGS = [
    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
    "-b:v", "4.5M", "-maxrate", "4.5M", "-bufsize", "4.5M", "-x264-params", "nal-hrd=cbr",
    "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
]  # fmt: skip
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]


@dataclass(frozen=True)
class Source:
    path: Path
    size: int
    duration_s: float
    bitrate_bps: float  # TS bytes x 8 / duration: what a viewer should receive

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "path": str(self.path)}


def _probe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return float(json.loads(out.stdout)["format"]["duration"])


def ensure_source(cache: Path = CACHE) -> Source:
    """The cached source, encoding it first when it is missing (about 20 s on one core)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"src5m_{SECONDS}s_720p25.ts"
    if not path.exists():
        tmp = path.with_suffix(".tmp.ts")
        argv = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(SECONDS), "-map", "0:v", "-map", "1:a", *VIDEO_ARGS, *AUDIO_ARGS,
            "-f", "mpegts", str(tmp),
        ]  # fmt: skip
        if (os.cpu_count() or 1) > 1:
            argv = ["taskset", "-c", "1", *argv]
        print(f"encoding the source once: {path}")
        subprocess.run(argv, check=True, timeout=600)
        tmp.rename(path)
    size = path.stat().st_size
    duration = _probe_duration(path)
    return Source(path, size, duration, 8.0 * size / duration)


def ffmpeg_wrapper(cpu: int, cache: Path = CACHE) -> Path:
    """An executable that runs the system ffmpeg pinned to ``cpu`` (exec: same pid, same process group)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"ffmpeg-cpu{cpu}"
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    script = f'#!/bin/sh\nexec taskset -c {cpu} {ffmpeg} "$@"\n'
    if (os.cpu_count() or 1) <= cpu:
        script = f'#!/bin/sh\nexec {ffmpeg} "$@"\n'
    if not path.exists() or path.read_text(encoding="utf-8") != script:
        path.write_text(script, encoding="utf-8")
        path.chmod(0o755)
    return path


def loop_argv(source: Source) -> list[str]:
    """ffmpeg reading the source in real time, forever (the caller adds the output)."""
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-stream_loop", "-1", "-i", str(source.path), "-map", "0", "-c", "copy"]  # fmt: skip
