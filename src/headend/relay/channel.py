"""A live channel: one supervised ingest, one chunk ring, its viewers and its chunk listeners.

``Channel`` is the ingest's sink: ffmpeg's stdout bytes are cut into packet-aligned chunks, appended to
the ring, written to the TS viewers (``Fanout``) and handed to listeners (the HLS packager, later the
archive recorder). Everything a channel owns is created in :meth:`start` and released in :meth:`aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from headend.errors import ChannelUnavailable
from headend.ingest.reaper import PidRegistry
from headend.ingest.sources import SourceSpec
from headend.ingest.supervisor import Supervisor, SupervisorStatus
from headend.relay.chunker import Chunk, Chunker
from headend.relay.config import ChannelConfig
from headend.relay.fanout import ByteSink, Fanout, Viewer
from headend.relay.ring import ChunkRing
from headend.settings import IngestSettings, RelaySettings
from headend.types import Clock, monotonic

logger = logging.getLogger(__name__)


class ChannelState(StrEnum):
    STARTING = "starting"  # ingest running, no keyframe yet
    LIVE = "live"  # media flowing
    STOPPED = "stopped"


class ChunkListener(Protocol):
    """Consumes every published chunk (HLS packager, archive recorder)."""

    def on_chunk(self, seq: int, chunk: Chunk) -> None: ...
    def on_channel_stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    id: int
    name: str
    state: ChannelState
    on_demand: bool
    viewers: int
    leases: int
    bytes_in: int
    bitrate_bps: int
    buffered_bytes: int
    dropped_viewers: int
    active_source: int | None
    ingest: SupervisorStatus | None


class Channel:
    def __init__(
        self,
        config: ChannelConfig,
        *,
        relay: RelaySettings,
        ingest: IngestSettings,
        ffmpeg: str,
        pid_registry: PidRegistry | None = None,
        clock: Clock = monotonic,
    ) -> None:
        self.config = config
        self._relay = relay
        self._ingest = ingest
        self._ffmpeg = ffmpeg
        self._pid_registry = pid_registry
        self._clock = clock
        self.state = ChannelState.STOPPED
        self.ring = ChunkRing(max_seconds=relay.buffer_seconds, max_bytes=relay.buffer_max_bytes, clock=clock)
        self._chunker = Chunker(chunk_bytes=relay.chunk_bytes, max_delay=relay.chunk_max_delay_ms / 1000, clock=clock)
        self._fanout = Fanout(self.ring, catch_up_bytes=relay.viewer_max_queue_bytes)
        self._listeners: list[ChunkListener] = []
        self._leases: dict[str, float] = {}
        self._reserved = 0
        self._supervisor: Supervisor | None = None
        self._poller: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._active_source: int | None = None
        self.bytes_in = 0
        self._rate_window: tuple[float, int] = (clock(), 0)
        self._bitrate = 0
        self.idle_since: float | None = clock()

    @property
    def id(self) -> int:
        return self.config.id

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.state = ChannelState.STARTING
        self._supervisor = Supervisor(
            f"channel {self.config.id}",
            self.config.sources,
            self.config.profile,
            self._ingest,
            self,
            ffmpeg=self._ffmpeg,
            pid_registry=self._pid_registry,
            clock=self._clock,
        )
        await self._supervisor.start()
        self._poller = asyncio.get_running_loop().create_task(self._poll_chunker())

    async def aclose(self) -> None:
        if self.state is ChannelState.STOPPED and self._supervisor is None:
            return
        self.state = ChannelState.STOPPED
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._supervisor is not None:
            await self._supervisor.aclose()
            self._supervisor = None
        self._fanout.close_all()
        for listener in list(self._listeners):
            listener.on_channel_stop()
        self._listeners.clear()
        self.ring.clear()

    async def _poll_chunker(self) -> None:
        interval = max(self._relay.chunk_max_delay_ms / 2000, 0.01)
        while True:
            await asyncio.sleep(interval)
            for chunk in self._chunker.poll():
                self._publish(chunk)

    # -- IngestSink ------------------------------------------------------------------------------------------
    def on_source_start(self, index: int, source: SourceSpec, reason: str) -> None:
        for chunk in self._chunker.flush():
            self._publish(chunk)
        self._chunker.reset()
        self._active_source = index
        logger.info("channel %s: source %d (%s) starting: %s", self.config.id, index, source.kind.value, reason)

    def on_data(self, data: bytes) -> None:
        self.bytes_in += len(data)
        for chunk in self._chunker.feed(data):
            self._publish(chunk)

    def _publish(self, chunk: Chunk) -> None:
        seq = self.ring.append(chunk)
        self._fanout.publish(seq, chunk)
        for listener in self._listeners:
            listener.on_chunk(seq, chunk)
        if chunk.keyframe and not self._ready.is_set():
            self.state = ChannelState.LIVE
            self._ready.set()
        self._update_rate()

    def _update_rate(self) -> None:
        start, start_bytes = self._rate_window
        now = self._clock()
        if now - start >= 2.0:
            self._bitrate = int((self.bytes_in - start_bytes) * 8 / (now - start))
            self._rate_window = (now, self.bytes_in)

    # -- viewers ---------------------------------------------------------------------------------------------
    async def wait_ready(self, timeout: float) -> None:
        """Wait until a keyframe is buffered (a viewer can start), or raise ChannelUnavailable."""
        if self.state is ChannelState.STOPPED:
            raise ChannelUnavailable(f"channel {self.config.id} is stopped")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise ChannelUnavailable(f"channel {self.config.id} produced no picture within {timeout:g} s") from None

    @contextlib.contextmanager
    def reservation(self) -> Iterator[None]:
        """Count a viewer that is still being set up (waiting for the first keyframe) as watching."""
        self._reserved += 1
        self.idle_since = None
        try:
            yield
        finally:
            self._reserved -= 1
            self._mark_idle()

    def attach(self, sink: ByteSink) -> Viewer:
        self.idle_since = None
        return self._fanout.attach(sink)

    def detach(self, viewer: Viewer) -> None:
        self._fanout.detach(viewer)
        self._mark_idle()

    def touch_lease(self, key: str, seconds: float) -> None:
        """Count a request-based viewer (an HLS player) for ``seconds`` from now."""
        self._leases[key] = self._clock() + seconds
        self.idle_since = None

    def viewer_count(self) -> int:
        now = self._clock()
        for key in [k for k, until in self._leases.items() if until < now]:
            del self._leases[key]
        return len(self._fanout) + len(self._leases) + self._reserved

    def _mark_idle(self) -> None:
        if self.idle_since is None and self.viewer_count() == 0:
            self.idle_since = self._clock()

    def idle_for(self) -> float:
        """Seconds since the last viewer left (0 while watched)."""
        if self.viewer_count() > 0:
            self.idle_since = None
            return 0.0
        if self.idle_since is None:
            self.idle_since = self._clock()
        return self._clock() - self.idle_since

    # -- listeners -------------------------------------------------------------------------------------------
    def add_listener(self, listener: ChunkListener) -> Sequence[tuple[int, Chunk]]:
        """Register ``listener`` and return the buffered chunks it may replay to catch up."""
        self._listeners.append(listener)
        start = self.ring.oldest_seq
        return list(enumerate(self.ring.since(start), start))

    def remove_listener(self, listener: ChunkListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- status ----------------------------------------------------------------------------------------------
    def status(self) -> ChannelStatus:
        ingest = self._supervisor.status() if self._supervisor is not None else None
        return ChannelStatus(
            id=self.config.id,
            name=self.config.name,
            state=self.state,
            on_demand=self.config.on_demand,
            viewers=len(self._fanout),
            leases=len(self._leases),
            bytes_in=self.bytes_in,
            bitrate_bps=self._bitrate,
            buffered_bytes=self.ring.nbytes,
            dropped_viewers=self._fanout.dropped_total,
            active_source=self._active_source,
            ingest=ingest,
        )
