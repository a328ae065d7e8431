"""Cut one channel's MPEG-TS byte stream into shared, immutable chunks of whole packets.

What :class:`Chunker` promises:

- Every :attr:`Chunk.data` is whole 188-byte packets, each beginning with 0x47. Reads may have any size. A packet
  is accepted once the sync byte after it has been seen too, so the last packet of a read waits for the next read
  (or for :meth:`Chunker.poll` / :meth:`Chunker.flush` when the source goes quiet). Bytes that are not part of a
  packet (garbage, a truncated packet) are skipped by resynchronising on a sync byte that repeats at 188-byte
  strides; packets flagged with transport_error_indicator are dropped. Nothing else is removed or reordered.
- A chunk ends right before each random access point (RAP): a video keyframe (see
  :func:`headend.relay.ts.is_keyframe`) or, for a program without video, an audio PES start at least
  :data:`AUDIO_RAP_TICKS` after the previous audio RAP. Once the muxer has set random_access_indicator on the
  video PID (ffmpeg does, on every keyframe), the flag alone decides: the payload fallback would take an SPS
  repeated before every frame (some cameras send that) for a keyframe, and joiners would start mid-GOP.
- The chunk that starts at a RAP is a *keyframe chunk*. It starts with the PAT/PMT packets that immediately
  precede the keyframe when the muxer sent them there (ffmpeg does), otherwise with the keyframe's first packet;
  a joiner must then be sent :attr:`Chunk.psi` first.
- Otherwise a chunk is cut when it reaches ``chunk_bytes`` (rounded down to whole packets; the cut moves back to
  just before a PAT/PMT run that may precede a keyframe), or when its oldest byte is ``max_delay`` old, checked
  in :meth:`Chunker.feed` and :meth:`Chunker.poll`. A trailing PAT/PMT run may wait one more ``max_delay`` for
  the keyframe that follows it.
- Bytes before the first RAP are emitted as ordinary (non-keyframe) chunks.
- Cost: per packet only the sync byte and the header flag byte are looked at, in bulk (188-byte stride slices and
  regular expressions); packets that start a payload unit are parsed one by one (PSI, PES header), and only
  video PES starts have their payload searched. Each byte is copied at most three times, by C code (read +
  carry, into the pending buffer, out into the chunk).
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Final

from headend.relay import ts
from headend.relay.ts import PACKET_SIZE, PAT_PID
from headend.types import Clock

AUDIO_RAP_TICKS: Final = ts.PTS_HZ
"""Audio-only programs: minimum PTS distance (90 kHz ticks, here 1 s) between two random access points."""

_CONFIRM: Final = 3  # sync bytes needed at 188-byte strides before a stream counts as aligned
_UNIT_START: Final = re.compile(rb"[\x40-\x7f]")  # header byte 1: payload_unit_start set, no transport error
_TRANSPORT_ERROR: Final = re.compile(rb"[\x80-\xff]")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole TS packets shared, unchanged, by every viewer of a channel."""

    data: bytes
    """Whole TS packets; ``len(data) % 188 == 0``."""
    keyframe: bool
    """``data`` starts at a random access point: the [PAT, PMT] packets right before it, or its first packet."""
    psi: bytes
    """The latest complete PAT + PMT packets seen (b"" until known). A joiner whose first chunk does not start
    with a PAT gets these first."""
    pts: int | None
    """90 kHz PTS of the first video (audio-only: audio) PES starting in this chunk; for keyframe chunks, the
    keyframe's PTS."""
    discontinuity: bool
    """First chunk after :meth:`Chunker.reset` (source change, ffmpeg restart)."""
    created: float
    """``clock()`` when the chunk was cut."""

    @property
    def starts_with_psi(self) -> bool:
        """Whether ``data`` begins with the first packet of a PAT."""
        data = self.data
        return len(data) >= PACKET_SIZE and data[0] == ts.SYNC_BYTE and data[1] & 0x5F == 0x40 and data[2] == PAT_PID


class Chunker:
    """Turns arbitrary reads of one MPEG-TS stream into :class:`Chunk` objects. Synchronous, not thread-safe."""

    def __init__(self, *, chunk_bytes: int = 65536, max_delay: float = 0.1, clock: Clock = time.monotonic) -> None:
        if chunk_bytes < PACKET_SIZE:
            raise ValueError(f"chunk_bytes must be at least {PACKET_SIZE}, got {chunk_bytes}")
        self._limit = chunk_bytes - chunk_bytes % PACKET_SIZE
        self._max_delay = max_delay
        self._clock = clock
        self._now = 0.0
        self._ready: list[Chunk] = []  # cut by reset(), handed out by the next call
        self._discontinuity = False
        self._new_stream()

    def _new_stream(self) -> None:
        self._carry = b""  # bytes not yet known to be whole, valid packets
        self._carry_time = 0.0  # clock() when the carry's first byte arrived
        self._synced = False
        self._buf = bytearray()  # whole packets of the chunk being built (and of a held PAT/PMT run)
        self._base = 0  # stream offset of _buf[0]; all other offsets below are stream offsets
        self._arrivals: deque[tuple[int, float]] = deque()  # (offset, clock) of each block appended to _buf
        self._keyframe = False
        self._pts: int | None = None
        self._run_start: int | None = None  # offset of a PAT that may start a keyframe chunk
        self._run_end = -1  # offset right after the PAT/PMT packets that follow it
        self._pat_section = b""
        self._pat_packet = b""
        self._pmt_pid: int | None = None
        self._pmt_section = b""
        self._psi = b""
        self._rap_pid: int | None = None
        self._codec = ""
        self._audio_only = False
        self._rai_seen = False  # the muxer flags keyframes on this PID: trust the flag alone
        self._last_audio_rap: int | None = None

    @property
    def psi(self) -> bytes:
        """The latest complete PAT + PMT packets seen since the last reset (b"" until both are known)."""
        return self._psi

    # --- public calls -------------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[Chunk]:
        """Take the next bytes of the stream; return the chunks they completed (possibly none)."""
        self._now = self._clock()
        out, self._ready = self._ready, []
        self._align(data, out)
        self._cut_if_late(out)
        return out

    def poll(self) -> list[Chunk]:
        """Timer tick: publish the pending packets if the oldest of them is at least ``max_delay`` old."""
        self._now = self._clock()
        out, self._ready = self._ready, []
        if self._carry and self._now - self._carry_time >= self._max_delay:
            self._release_carry(out)
        self._cut_if_late(out)
        return out

    def flush(self) -> list[Chunk]:
        """Publish every pending whole packet now. A partial trailing packet stays for the next feed."""
        self._now = self._clock()
        out, self._ready = self._ready, []
        self._release_carry(out)
        self._emit(self._end, out)
        return out

    def reset(self) -> None:
        """The stream is about to come from a new source or a restarted ffmpeg.

        Pending whole packets are cut into a chunk returned by the next call (nothing already received is lost);
        a partial packet is dropped; PIDs and PSI are forgotten; the next chunk has ``discontinuity=True``.
        """
        self._now = self._clock()
        self._release_carry(self._ready)
        self._emit(self._end, self._ready)
        self._new_stream()
        self._discontinuity = True

    # --- alignment ----------------------------------------------------------------------------------------
    # A packet is accepted when its own sync byte and the next packet's are both 0x47, so a truncated packet
    # followed by garbage is dropped too. The last packet of a read therefore waits in the carry for the next
    # read's first byte, or for poll()/flush() when the stream goes quiet.

    def _align(self, data: bytes | bytearray | memoryview, out: list[Chunk]) -> None:
        """Ingest the valid, aligned packets of carry + data; keep the unconfirmed tail as the new carry."""
        old = len(self._carry)
        buf = self._carry + data if self._carry else bytes(data)
        pos, n = 0, len(buf)
        while True:
            if not self._synced:
                pos = ts.find_sync(buf, pos, confirm=_CONFIRM)
                if pos < 0 or n - pos < _CONFIRM * PACKET_SIZE:
                    self._keep(buf, pos, old)
                    return
                self._synced = True
                self._run_start = None  # bytes were skipped: no PAT/PMT run continues across the gap
            seen = (n - pos + PACKET_SIZE - 1) // PACKET_SIZE  # sync bytes present from pos on
            bad = ts.first_bad_sync(buf, pos, seen)
            good = seen - 1 if bad < 0 else max(bad - 1, 0)  # the packet before a bad sync byte is suspect
            if good:
                arrived = self._carry_time if pos < old else self._now
                self._ingest(memoryview(buf)[pos : pos + good * PACKET_SIZE], arrived, out)
                pos += good * PACKET_SIZE
            if bad < 0:
                self._keep(buf, pos, old)
                return
            self._synced = False
            pos += 1

    def _keep(self, buf: bytes, pos: int, old: int) -> None:
        if pos < 0:
            self._carry = b""
            return
        if pos >= old:  # the carry's first byte arrived now, not in an earlier read
            self._carry_time = self._now
        self._carry = buf[pos:]

    def _release_carry(self, out: list[Chunk]) -> None:
        """Accept the carry's whole packets without waiting for the sync byte after them (aligned streams only)."""
        carry = self._carry
        whole = len(carry) // PACKET_SIZE
        if not self._synced or not whole:
            return
        bad = ts.first_bad_sync(carry, 0, whole)
        good = whole if bad < 0 else bad
        if good:
            self._ingest(memoryview(carry)[: good * PACKET_SIZE], self._carry_time, out)
            self._carry = carry[good * PACKET_SIZE :]

    # --- scanning -----------------------------------------------------------------------------------------

    @property
    def _end(self) -> int:
        return self._base + len(self._buf)

    def _ingest(self, block: memoryview, arrived: float, out: list[Chunk]) -> None:
        start = self._end
        self._arrivals.append((start, arrived))
        self._buf += block
        rel = start - self._base
        heads = self._buf[rel + 1 :: PACKET_SIZE]
        if _TRANSPORT_ERROR.search(heads):
            heads = self._drop_errored(rel, heads)
        for match in _UNIT_START.finditer(heads):
            self._on_unit_start(start + match.start() * PACKET_SIZE, out)
        self._cut_full(self._end, out)

    def _drop_errored(self, rel: int, heads: bytearray) -> bytearray:
        """Remove packets flagged with transport_error_indicator; return the header bytes of those left."""
        for match in reversed(list(_TRANSPORT_ERROR.finditer(heads))):
            at = rel + match.start() * PACKET_SIZE
            del self._buf[at : at + PACKET_SIZE]
        return self._buf[rel + 1 :: PACKET_SIZE]

    def _on_unit_start(self, offset: int, out: list[Chunk]) -> None:
        rel = offset - self._base
        packet = bytes(self._buf[rel : rel + PACKET_SIZE])
        pid = ts.packet_pid(packet)
        if pid == PAT_PID:
            self._on_pat(packet, offset)
        elif pid == self._pmt_pid:
            self._on_pmt(packet, offset)
        elif pid == self._rap_pid:
            pts = ts.pes_pts(packet)
            if self._is_rap(packet, pts):
                self._start_keyframe_chunk(offset, pts, out)
            else:
                self._cut_full(offset, out)
                if self._pts is None:
                    self._pts = pts

    def _on_pat(self, packet: bytes, offset: int) -> None:
        section = ts.psi_section(packet)
        if section is None:
            return
        if section != self._pat_section:
            pmt_pid = ts.parse_pat_section(section)
            if pmt_pid is None:
                return
            if pmt_pid != self._pmt_pid:
                self._pmt_pid, self._pmt_section, self._psi, self._rap_pid = pmt_pid, b"", b"", None
            self._pat_section = section
        self._pat_packet = packet
        if self._run_start is None or self._run_end != offset:
            self._run_start = offset
        self._run_end = offset + PACKET_SIZE

    def _on_pmt(self, packet: bytes, offset: int) -> None:
        section = ts.psi_section(packet)
        if section is None:
            return
        if section != self._pmt_section:
            program = ts.parse_pmt_section(section)
            if program is None:
                return
            self._pmt_section = section
            self._select_rap_stream(program)
        if self._pat_packet:
            self._psi = self._pat_packet + packet
        if self._run_start is not None and self._run_end == offset:
            self._run_end = offset + PACKET_SIZE

    def _select_rap_stream(self, program: ts.ProgramMap) -> None:
        video, audio = program.video, program.audio
        stream = video or audio
        self._rap_pid = stream.pid if stream else None
        self._codec = stream.codec if stream else ""
        self._audio_only = video is None
        self._rai_seen = False

    def _is_rap(self, packet: bytes, pts: int | None) -> bool:
        if not self._audio_only:
            if ts.random_access_indicator(packet):
                self._rai_seen = True
                return True
            return not self._rai_seen and ts.is_keyframe(packet, self._codec)
        last = self._last_audio_rap
        if pts is not None and last is not None and 0 <= ts.pts_delta(last, pts) < AUDIO_RAP_TICKS:
            return False
        self._last_audio_rap = pts
        return True

    # --- cutting ------------------------------------------------------------------------------------------

    def _run_open_at(self, offset: int) -> bool:
        return self._run_start is not None and self._run_end == offset

    def _start_keyframe_chunk(self, offset: int, pts: int | None, out: list[Chunk]) -> None:
        boundary = self._run_start if self._run_start is not None and self._run_open_at(offset) else offset
        self._cut_full(boundary, out)
        self._emit(boundary, out)
        self._keyframe, self._pts, self._run_start = True, pts, None

    def _cut_full(self, upto: int, out: list[Chunk]) -> None:
        """Cut full-size chunks out of the bytes before ``upto``, never splitting a PAT/PMT run open there."""
        while upto - self._base >= self._limit:
            cut = self._base + self._limit
            if self._run_start is not None and self._run_open_at(upto) and self._base < self._run_start < cut:
                cut = self._run_start
            self._emit(cut, out)

    def _cut_if_late(self, out: list[Chunk]) -> None:
        if not self._buf or self._now - self._arrivals[0][1] < self._max_delay:
            return
        cut = self._end
        if self._run_start is not None and self._run_open_at(cut) and self._run_start > self._base:
            cut = self._run_start  # keep a trailing PAT/PMT run with the keyframe that should follow it
        self._emit(cut, out)

    def _emit(self, cut: int, out: list[Chunk]) -> None:
        """Publish ``_buf`` up to stream offset ``cut`` as one chunk and start the next one there."""
        n = cut - self._base
        if n <= 0:
            return
        with memoryview(self._buf) as view:
            data = view[:n].tobytes()
        del self._buf[:n]
        self._base = cut
        out.append(Chunk(data, self._keyframe, self._psi, self._pts, self._discontinuity, self._now))
        self._keyframe, self._pts, self._discontinuity = False, None, False
        arrivals = self._arrivals
        if not self._buf:
            arrivals.clear()
            return
        while len(arrivals) > 1 and arrivals[1][0] <= cut:
            arrivals.popleft()


__all__ = ["AUDIO_RAP_TICKS", "Chunk", "Chunker"]
