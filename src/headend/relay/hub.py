"""The hub: at most one running :class:`Channel` per channel id, started on demand, stopped when idle.

Whatever the number of viewers and formats, a channel has one ingest. The hub resolves a channel's
configuration through an injected callable (the catalog in production), so the relay never imports the
database. A janitor task stops on-demand channels ``idle_grace_s`` after their last viewer left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from headend.errors import NotFound
from headend.ingest.reaper import PidRegistry
from headend.ingest.supervisor import IngestEvent
from headend.relay.channel import Channel, ChannelStatus
from headend.relay.config import ChannelConfig
from headend.settings import IngestSettings, RelaySettings
from headend.types import ChannelId, Clock, monotonic

logger = logging.getLogger(__name__)

ConfigResolver = Callable[[ChannelId], Awaitable[ChannelConfig]]
EVENT_HISTORY: Final = 100


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """An ingest event (start, failover, stall, exit, ...) of one channel, for the dashboard."""

    channel_id: int
    channel_name: str
    event: IngestEvent


class ChannelHub:
    def __init__(
        self,
        resolve: ConfigResolver,
        *,
        relay: RelaySettings,
        ingest: IngestSettings,
        ffmpeg: str,
        pid_registry: PidRegistry | None = None,
        clock: Clock = monotonic,
        janitor_interval: float = 0.5,
    ) -> None:
        self._resolve = resolve
        self._relay = relay
        self._ingest = ingest
        self._ffmpeg = ffmpeg
        self._pid_registry = pid_registry
        self._clock = clock
        self._janitor_interval = janitor_interval
        self._channels: dict[int, Channel] = {}
        self._starting: dict[int, asyncio.Task[Channel]] = {}
        self._janitor: asyncio.Task[None] | None = None
        self._closed = False
        self._history: deque[ChannelEvent] = deque(maxlen=EVENT_HISTORY)  # events of channels since stopped

    async def start(self) -> None:
        self._janitor = asyncio.get_running_loop().create_task(self._janitor_loop())

    async def aclose(self) -> None:
        self._closed = True
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None
        for task in list(self._starting.values()):
            with contextlib.suppress(Exception):
                await task
        await asyncio.gather(*(channel.aclose() for channel in self._channels.values()))
        self._channels.clear()

    # -- channels ------------------------------------------------------------------------------------------
    async def acquire(self, channel_id: ChannelId) -> Channel:
        """The running channel, started if needed. Concurrent callers share one start."""
        channel = self._channels.get(channel_id)
        if channel is not None:
            return channel
        task = self._starting.get(channel_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._start_channel(channel_id))
            self._starting[channel_id] = task
            task.add_done_callback(lambda _t: self._starting.pop(channel_id, None))
        return await asyncio.shield(task)

    async def _start_channel(self, channel_id: ChannelId) -> Channel:
        if self._closed:
            raise RuntimeError("hub is closed")
        config = await self._resolve(channel_id)
        channel = Channel(
            config,
            relay=self._relay,
            ingest=self._ingest,
            ffmpeg=self._ffmpeg,
            pid_registry=self._pid_registry,
            clock=self._clock,
        )
        await channel.start()
        self._channels[channel_id] = channel
        logger.info("channel %s (%s) started", channel_id, config.name)
        return channel

    def get(self, channel_id: int) -> Channel | None:
        return self._channels.get(channel_id)

    async def stop(self, channel_id: int) -> None:
        channel = self._channels.pop(channel_id, None)
        if channel is not None:
            self._history.extend(_events_of(channel))
            await channel.aclose()
            logger.info("channel %s stopped", channel_id)

    async def restart(self, channel_id: ChannelId) -> None:
        """Apply a changed configuration to a running channel: it stops, and starts again at once when it is
        always on (on demand: at its next viewer). A channel deleted or disabled meanwhile stays stopped; a
        channel that was not running is left alone."""
        if channel_id not in self._channels:
            return
        await self.stop(channel_id)
        try:
            config = await self._resolve(channel_id)
        except NotFound:
            return
        if not config.on_demand:
            await self.acquire(channel_id)

    def statuses(self) -> list[ChannelStatus]:
        return [channel.status() for channel in sorted(self._channels.values(), key=lambda c: c.id)]

    def running_ids(self) -> list[int]:
        return sorted(self._channels)

    def recent_events(self, limit: int = 50) -> list[ChannelEvent]:
        """The latest ingest events of running and recently stopped channels, newest first."""
        live = [event for channel in self._channels.values() for event in _events_of(channel)]
        return sorted([*self._history, *live], key=lambda e: e.event.at, reverse=True)[:limit]

    # -- idle stop -------------------------------------------------------------------------------------------
    async def _janitor_loop(self) -> None:
        while True:
            await asyncio.sleep(self._janitor_interval)
            for channel in list(self._channels.values()):
                idle = channel.idle_for() if channel.config.on_demand else 0.0
                if channel.config.on_demand and idle >= self._relay.idle_grace_s:
                    logger.info("channel %s idle for %.0f s: stopping", channel.id, idle)
                    await self.stop(channel.id)


def _events_of(channel: Channel) -> list[ChannelEvent]:
    ingest = channel.status().ingest
    events = ingest.events if ingest is not None else ()
    return [ChannelEvent(channel.id, channel.config.name, event) for event in events]
