"""Test oracles for MPEG-TS: packet walking, continuity counters, and ffprobe as an independent decoder."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

PACKET = 188


def packets(data: bytes) -> Iterator[bytes]:
    for offset in range(0, len(data) - PACKET + 1, PACKET):
        yield data[offset : offset + PACKET]


def pid_of(packet: bytes) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def aligned(data: bytes) -> bool:
    return all(p[0] == 0x47 for p in packets(data))


def continuity_errors(data: bytes) -> int:
    """Count continuity-counter jumps on payload-carrying packets (duplicates allowed once)."""
    last: dict[int, int] = {}
    errors = 0
    for p in packets(data):
        pid = pid_of(p)
        if pid == 0x1FFF or not p[3] & 0x10:
            continue
        cc = p[3] & 0x0F
        if pid in last and cc not in ((last[pid] + 1) & 0x0F, last[pid]):
            errors += 1
        last[pid] = cc
    return errors


@dataclass
class Probe:
    errors: str
    key_flags: list[int]
    codecs: set[str]

    @property
    def frames(self) -> int:
        return len(self.key_flags)


def ffprobe(path: Path) -> Probe:
    """Decode every video frame of ``path`` with ffprobe; report decoder errors and keyframe flags."""
    frames = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    streams = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    flags = [int(line.split(",")[0]) for line in frames.stdout.split() if line.strip()]
    return Probe(frames.stderr.strip(), flags, {c for c in streams.stdout.split() if c})


async def aprobe(path: Path) -> Probe:
    return await asyncio.to_thread(ffprobe, path)


def ffmpeg_children() -> list[psutil.Process]:
    """ffmpeg processes below this test process (zombies included, so a leak shows)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in child.name() or any("ffmpeg" in part for part in child.cmdline()[:1]):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


async def read_http_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def open_stream(port: int, path: str) -> tuple[int, dict[str, str], asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: headend-test\r\n\r\n".encode())
    await writer.drain()
    status, headers = await read_http_head(reader)
    return status, headers, reader, writer


async def read_for(reader: asyncio.StreamReader, seconds: float, *, limit: int = 64 << 20) -> bytes:
    """Read whatever arrives for ``seconds`` (or until EOF / ``limit`` bytes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    out = bytearray()
    while len(out) < limit:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            data = await asyncio.wait_for(reader.read(1 << 16), remaining)
        except TimeoutError:
            break
        if not data:
            break
        out += data
    return bytes(out)
