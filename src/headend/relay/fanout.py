"""Fan-out: every viewer of a channel is a cursor into the channel's shared chunk ring.

Push model, all on the event loop thread and without a task per viewer: when a chunk is published it is
written (the same ``bytes`` object, no copy) to every viewer that is at the head and whose socket is
keeping up. A viewer whose transport buffer is full is marked *lagging* and keeps its cursor; when the
transport drains it catches up from the ring. A lagging viewer whose cursor has been evicted from the ring
is disconnected: memory per viewer is bounded by its socket buffers, whatever the viewer does.

A new viewer starts at the latest keyframe chunk (the GOP cache), with PAT/PMT in front, so the first
bytes it receives decode at once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from headend.relay.chunker import Chunk
from headend.relay.ring import ChunkRing

logger = logging.getLogger(__name__)

_ids = itertools.count(1)


class ByteSink(Protocol):
    """Where a viewer's bytes go: in production an HTTP response on a socket."""

    def write_parts(self, parts: Sequence[bytes]) -> None: ...
    def writable(self) -> bool: ...
    def buffered(self) -> int: ...
    def set_on_writable(self, callback: Callable[[], None] | None) -> None: ...
    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...


class Viewer:
    __slots__ = ("bytes_sent", "dropped", "id", "lagging", "next_seq", "sink")

    def __init__(self, sink: ByteSink) -> None:
        self.id = next(_ids)
        self.sink = sink
        self.next_seq: int | None = None  # None: waiting for the first keyframe
        self.lagging = False
        self.bytes_sent = 0
        self.dropped = ""


class Fanout:
    def __init__(self, ring: ChunkRing, *, catch_up_bytes: int = 1 << 20) -> None:
        self._ring = ring
        self._catch_up_bytes = catch_up_bytes
        self._live: set[Viewer] = set()
        self._lagging: set[Viewer] = set()
        self._waiting: set[Viewer] = set()
        self.dropped_total = 0

    def __len__(self) -> int:
        return len(self._live) + len(self._lagging) + len(self._waiting)

    # -- membership -------------------------------------------------------------------------------------
    def attach(self, sink: ByteSink) -> Viewer:
        viewer = Viewer(sink)
        sink.set_on_writable(lambda: self._on_writable(viewer))
        start = self._ring.join_seq()
        if start is None:
            self._waiting.add(viewer)
        else:
            self._start_at(viewer, start)
        return viewer

    def detach(self, viewer: Viewer) -> None:
        viewer.sink.set_on_writable(None)
        self._live.discard(viewer)
        self._lagging.discard(viewer)
        self._waiting.discard(viewer)

    def close_all(self) -> None:
        for viewer in [*self._live, *self._lagging, *self._waiting]:
            self._drop(viewer, "channel stopped", count=False)

    # -- the hot path -------------------------------------------------------------------------------------
    def publish(self, seq: int, chunk: Chunk) -> None:
        """Called once per chunk, after it was appended to the ring as ``seq``."""
        parts = (chunk.data,)
        size = len(chunk.data)
        laggards: list[Viewer] = []
        for viewer in self._live:
            if viewer.next_seq == seq and viewer.sink.writable():
                viewer.sink.write_parts(parts)
                viewer.next_seq = seq + 1
                viewer.bytes_sent += size
            else:
                laggards.append(viewer)
        for viewer in laggards:  # rare: only when a socket is full
            viewer.lagging = True
            self._live.discard(viewer)
            self._lagging.add(viewer)
        if self._waiting and chunk.keyframe:
            for viewer in list(self._waiting):
                self._waiting.discard(viewer)
                self._start_at(viewer, seq)
        if self._lagging:
            self._evict_lost()

    # -- slow path -------------------------------------------------------------------------------------------
    def _start_at(self, viewer: Viewer, seq: int) -> None:
        chunk = self._ring.get(seq)
        viewer.next_seq = seq
        if chunk is not None and not chunk.starts_with_psi and chunk.psi:
            viewer.sink.write_parts((chunk.psi,))
        viewer.lagging = True
        self._lagging.add(viewer)
        self._catch_up(viewer)

    def _evict_lost(self) -> None:
        oldest = self._ring.oldest_seq
        for viewer in [v for v in self._lagging if v.next_seq is not None and v.next_seq < oldest]:
            self._drop(viewer, "fell behind the buffer")

    def _on_writable(self, viewer: Viewer) -> None:
        if viewer.sink.closed:
            self.detach(viewer)
        elif viewer in self._lagging:
            self._catch_up(viewer)

    def _catch_up(self, viewer: Viewer) -> None:
        assert viewer.next_seq is not None
        if viewer.next_seq < self._ring.oldest_seq:
            self._drop(viewer, "fell behind the buffer")
            return
        while viewer.sink.writable():
            chunks = self._ring.since(viewer.next_seq, max_bytes=self._catch_up_bytes)
            if not chunks:
                viewer.lagging = False
                self._lagging.discard(viewer)
                self._live.add(viewer)
                return
            viewer.sink.write_parts([c.data for c in chunks])
            viewer.next_seq += len(chunks)
            viewer.bytes_sent += sum(len(c.data) for c in chunks)

    def _drop(self, viewer: Viewer, reason: str, *, count: bool = True) -> None:
        viewer.dropped = reason
        if count:
            self.dropped_total += 1
            logger.info("viewer %d disconnected: %s", viewer.id, reason)
        self.detach(viewer)
        viewer.sink.close()
