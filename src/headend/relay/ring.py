"""A bounded, per-channel ring of published chunks, addressed by sequence number.

What :class:`ChunkRing` promises:

- Every appended chunk gets the next sequence number: they start at 0, grow by one, are never reused (not even
  after :meth:`ChunkRing.clear`). A viewer is just a cursor (the next seq it wants).
- Eviction happens on append, oldest first: while the ring holds more than ``max_bytes``, or while its oldest
  chunk was appended more than ``max_seconds`` ago. Age never evicts the latest keyframe chunk or anything after
  it, so the current GOP stays joinable however long it is; only the byte cap may drop it. The newest chunk is
  never evicted, so a single chunk larger than ``max_bytes`` is kept alone.
- A cursor that fell behind the oldest chunk gets :class:`CursorEvicted` from :meth:`ChunkRing.since`; the caller
  disconnects that viewer (or moves it to :meth:`ChunkRing.join_seq`). A cursor at the head gets ``[]``.
- Append, eviction and lookup by seq are O(1) (amortised): a list plus a start offset, compacted now and then.
"""

from __future__ import annotations

import time

from headend.errors import HeadendError
from headend.relay.chunker import Chunk
from headend.types import Clock


class CursorEvicted(HeadendError):
    """The chunk a cursor points at has been evicted: the viewer fell too far behind."""

    def __init__(self, seq: int, oldest_seq: int) -> None:
        super().__init__(f"chunk {seq} was evicted; the oldest held is {oldest_seq}")
        self.seq = seq
        self.oldest_seq = oldest_seq


class ChunkRing:
    """Chunks of one channel, bounded by age and bytes. Synchronous, not thread-safe."""

    def __init__(self, *, max_seconds: float, max_bytes: int, clock: Clock = time.monotonic) -> None:
        self._max_seconds = max_seconds
        self._max_bytes = max_bytes
        self._clock = clock
        self._chunks: list[Chunk] = []
        self._times: list[float] = []  # clock() at append, parallel to _chunks
        self._start = 0  # index in _chunks of the oldest chunk held
        self._oldest_seq = 0
        self._nbytes = 0
        self._latest_keyframe: int | None = None

    @property
    def head_seq(self) -> int:
        """The seq the next appended chunk will get."""
        return self._oldest_seq + len(self._chunks) - self._start

    @property
    def oldest_seq(self) -> int:
        """The seq of the oldest chunk held (``== head_seq`` when empty)."""
        return self._oldest_seq

    @property
    def latest_keyframe_seq(self) -> int | None:
        """The newest keyframe chunk still held."""
        return self._latest_keyframe

    @property
    def nbytes(self) -> int:
        """Bytes of chunk data held."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._chunks) - self._start

    def append(self, chunk: Chunk) -> int:
        """Publish a chunk; return its seq. Evicts old chunks (see the module docstring)."""
        seq = self.head_seq
        now = self._clock()
        self._chunks.append(chunk)
        self._times.append(now)
        self._nbytes += len(chunk.data)
        if chunk.keyframe:
            self._latest_keyframe = seq
        self._evict(now)
        return seq

    def _evict(self, now: float) -> None:
        while len(self) > 1:
            over_bytes = self._nbytes > self._max_bytes
            too_old = now - self._times[self._start] > self._max_seconds and self._oldest_seq != self._latest_keyframe
            if not (over_bytes or too_old):
                break
            self._drop_oldest()
        if self._start > 64 and self._start * 2 > len(self._chunks):
            del self._chunks[: self._start]
            del self._times[: self._start]
            self._start = 0

    def _drop_oldest(self) -> None:
        self._nbytes -= len(self._chunks[self._start].data)
        if self._oldest_seq == self._latest_keyframe:
            self._latest_keyframe = None  # the byte cap dropped the only joinable point
        self._chunks[self._start] = _EVICTED
        self._start += 1
        self._oldest_seq += 1

    def get(self, seq: int) -> Chunk | None:
        """The chunk with this seq; ``None`` when it was evicted or is not published yet."""
        if not self._oldest_seq <= seq < self.head_seq:
            return None
        return self._chunks[self._start + seq - self._oldest_seq]

    def since(self, seq: int, max_bytes: int | None = None) -> list[Chunk]:
        """Chunks ``seq .. head_seq - 1``, oldest first.

        With ``max_bytes``, stop before the chunk that would go over it (at least one chunk is returned when any is
        available). ``[]`` when ``seq == head_seq``. Raises :class:`CursorEvicted` when ``seq < oldest_seq`` and
        ``ValueError`` when ``seq > head_seq``.
        """
        head = self.head_seq
        if seq < self._oldest_seq:
            raise CursorEvicted(seq, self._oldest_seq)
        if seq > head:
            raise ValueError(f"seq {seq} is ahead of the head {head}")
        first = self._start + seq - self._oldest_seq
        chunks = self._chunks[first:]
        if max_bytes is None:
            return chunks
        total = 0
        for i, chunk in enumerate(chunks):
            total += len(chunk.data)
            if total > max_bytes and i > 0:
                return chunks[:i]
        return chunks

    def join_seq(self) -> int | None:
        """Where a new viewer starts: the latest keyframe chunk (``None`` until one is held)."""
        return self._latest_keyframe

    def clear(self) -> None:
        """Drop every chunk (e.g. the channel stopped). Seqs keep counting from ``head_seq``."""
        self._oldest_seq = self.head_seq
        self._chunks.clear()
        self._times.clear()
        self._start = 0
        self._nbytes = 0
        self._latest_keyframe = None


_EVICTED = Chunk(b"", keyframe=False, psi=b"", pts=None, discontinuity=False, created=0.0)
"""Placeholder left in evicted slots until compaction, so the evicted chunk's bytes are freed at once."""

__all__ = ["ChunkRing", "CursorEvicted"]
