"""Cut a channel's relay chunks into GOP-aligned HLS segments, kept in memory.

What :class:`Segmenter` promises:

- A segment starts at a keyframe chunk and so begins with PAT + PMT + keyframe: when the chunk itself does not
  start with a PAT, the chunk's PSI packets are put in front. Segment parts are the chunks' own ``bytes``
  objects (shared, never copied). Chunks before the first keyframe chunk are skipped.
- A segment closes at the first keyframe chunk whose PTS is at least ~``target_seconds`` (97 %) after the
  segment's start, so durations are whole GOPs. Durations come from the PTS difference (33-bit wrap aware); when
  a PTS is missing, goes backwards or is implausible (more than 10x the target), from the chunks' ``created``
  times instead.
- A segment is force-closed at 4x the target even without a keyframe. The segment that follows then does not
  start with a keyframe (``independent=False``): a player starting there shows broken pictures until the next
  keyframe, and the playlist drops ``#EXT-X-INDEPENDENT-SEGMENTS`` while such a segment is listed.
- A chunk with ``discontinuity=True`` closes the current segment (its duration runs to the last PTS seen in it,
  so it is short by up to one chunk) and the next segment carries ``discontinuity=True``
  (``#EXT-X-DISCONTINUITY``). The first segment ever made never does. ``discontinuity_sequence`` counts the
  discontinuities that scrolled out of the playlist window.
- ``target_duration`` is the ceiling of the longest segment seen (rounded to ms first), at least
  ``ceil(target_seconds)``; it never decreases.
- Memory: at most ``playlist_length + keep_extra`` complete segments plus the one being built.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from headend.hls.m3u8 import render_media_playlist
from headend.relay.chunker import Chunk
from headend.relay.ts import PTS_HZ, pts_delta
from headend.types import Clock

_CLOSE_AT: Final = 0.97  # close at a keyframe this fraction of the target after the start
_FORCE_AT: Final = 4.0  # force-close after this many targets without a keyframe
_PLAUSIBLE: Final = 10.0  # a PTS step longer than this many targets is not believed


@dataclass(frozen=True, slots=True)
class Segment:
    """One complete HLS segment: MPEG-TS bytes in shared parts."""

    seq: int
    """Media sequence number."""
    parts: tuple[bytes, ...]
    """The chunks' data (shared, not copied), prefixed with the PSI packets when the first chunk lacks them."""
    size: int
    duration: float
    """Seconds."""
    discontinuity: bool
    created: float
    """``clock()`` when the segment was completed."""
    independent: bool = True
    """Starts with a keyframe; False only after a force-close (see the module docstring)."""

    def body(self) -> bytes:
        """The whole segment as one ``bytes`` (copies; for tests and simple callers)."""
        return b"".join(self.parts)


@dataclass(slots=True)
class _Building:
    parts: list[bytes]
    size: int
    start_pts: int | None
    start_created: float
    last_pts: int | None
    last_created: float
    discontinuity: bool
    independent: bool


class Segmenter:
    """Segments of one channel. Feed it every chunk the relay publishes, in order. Synchronous, not thread-safe."""

    def __init__(
        self, *, target_seconds: float, playlist_length: int, keep_extra: int, clock: Clock = time.monotonic
    ) -> None:
        if target_seconds <= 0 or playlist_length < 1 or keep_extra < 0:
            raise ValueError("need target_seconds > 0, playlist_length >= 1 and keep_extra >= 0")
        self._target = target_seconds
        self._length = playlist_length
        self._clock = clock
        self._segments: deque[Segment] = deque(maxlen=playlist_length + keep_extra)
        self._building: _Building | None = None
        self._next_seq = 0
        self._discontinuity_pending = False
        self._discontinuity_sequence = 0
        self._target_duration = math.ceil(target_seconds)

    @property
    def media_sequence(self) -> int:
        """Seq of the first segment in the window (the next seq while the window is empty)."""
        first = self._window_start()
        return self._segments[first].seq if first < len(self._segments) else self._next_seq

    @property
    def discontinuity_sequence(self) -> int:
        """Discontinuities in segments that have scrolled out of the window."""
        return self._discontinuity_sequence

    @property
    def target_duration(self) -> int:
        return self._target_duration

    def feed(self, chunk: Chunk) -> Segment | None:
        """Take the next chunk; return the segment it completed, if any."""
        done = self._close_for_discontinuity() if chunk.discontinuity else None
        building = self._building
        if building is None:
            if chunk.keyframe:
                self._open(chunk, independent=True)
            return done
        elapsed = self._elapsed(building, chunk.pts, chunk.created)
        if chunk.keyframe and elapsed >= self._target * _CLOSE_AT:
            done = self._finish(building, elapsed)
            self._open(chunk, independent=True)
        elif elapsed >= self._target * _FORCE_AT:
            done = self._finish(building, elapsed)
            self._open(chunk, independent=False)
        else:
            self._add(building, chunk)
        return done

    def window(self) -> list[Segment]:
        """The last ``playlist_length`` complete segments, oldest first."""
        return list(itertools.islice(self._segments, self._window_start(), None))

    def get(self, seq: int) -> Segment | None:
        """Any kept segment (the window and up to ``keep_extra`` older ones)."""
        if not self._segments:
            return None
        index = seq - self._segments[0].seq
        return self._segments[index] if 0 <= index < len(self._segments) else None

    def playlist(self, uri: Callable[[Segment], str], *, ended: bool = False) -> bytes:
        """The media playlist of the window (see :func:`headend.hls.m3u8.render_media_playlist`)."""
        return render_media_playlist(
            self.window(),
            target_duration=self._target_duration,
            media_sequence=self.media_sequence,
            discontinuity_sequence=self._discontinuity_sequence,
            uri=uri,
            ended=ended,
        )

    # --- internals ----------------------------------------------------------------------------------------

    def _window_start(self) -> int:
        return max(0, len(self._segments) - self._length)

    def _elapsed(self, building: _Building, pts: int | None, created: float) -> float:
        """Seconds from the segment's start to a point with this PTS / created time."""
        if building.start_pts is not None and pts is not None:
            seconds = pts_delta(building.start_pts, pts) / PTS_HZ
            if 0 < seconds <= self._target * _PLAUSIBLE:
                return seconds
        return max(0.0, created - building.start_created)

    def _open(self, chunk: Chunk, *, independent: bool) -> None:
        parts = [chunk.psi, chunk.data] if chunk.psi and not chunk.starts_with_psi else [chunk.data]
        self._building = _Building(
            parts=parts,
            size=sum(map(len, parts)),
            start_pts=chunk.pts,
            start_created=chunk.created,
            last_pts=chunk.pts,
            last_created=chunk.created,
            discontinuity=self._discontinuity_pending,
            independent=independent,
        )
        self._discontinuity_pending = False

    def _add(self, building: _Building, chunk: Chunk) -> None:
        building.parts.append(chunk.data)
        building.size += len(chunk.data)
        building.last_created = chunk.created
        if chunk.pts is not None and building.start_pts is not None:
            if 0 < pts_delta(building.start_pts, chunk.pts) <= self._target * _PLAUSIBLE * PTS_HZ:
                building.last_pts = chunk.pts

    def _close_for_discontinuity(self) -> Segment | None:
        building = self._building
        if building is None:
            self._discontinuity_pending = self._next_seq > 0
            return None
        self._discontinuity_pending = True
        return self._finish(building, self._elapsed(building, building.last_pts, building.last_created))

    def _finish(self, building: _Building, duration: float) -> Segment:
        segment = Segment(
            seq=self._next_seq,
            parts=tuple(building.parts),
            size=building.size,
            duration=duration,
            discontinuity=building.discontinuity,
            created=self._clock(),
            independent=building.independent,
        )
        self._building = None
        self._next_seq += 1
        if len(self._segments) >= self._length and self._segments[-self._length].discontinuity:
            self._discontinuity_sequence += 1  # that segment is about to leave the window
        self._segments.append(segment)
        self._target_duration = max(self._target_duration, math.ceil(round(duration, 3)))
        return segment


__all__ = ["Segment", "Segmenter"]
