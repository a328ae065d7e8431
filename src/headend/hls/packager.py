"""In-memory HLS for a running channel: a chunk listener that feeds a Segmenter and wakes waiting players.

A packager is created the first time a channel is asked for HLS and replays what the channel's ring
already holds, so a warm channel answers its first playlist at once. It lives as long as the channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from headend.errors import ChannelUnavailable
from headend.hls.segmenter import Segment, Segmenter
from headend.relay.channel import Channel
from headend.relay.chunker import Chunk
from headend.settings import HlsSettings
from headend.types import Clock, monotonic


class HlsPackager:
    def __init__(self, channel: Channel, settings: HlsSettings, *, clock: Clock = monotonic) -> None:
        self.channel = channel
        self.segmenter = Segmenter(
            target_seconds=settings.segment_seconds,
            playlist_length=settings.playlist_length,
            keep_extra=settings.keep_extra,
            clock=clock,
        )
        self.stopped = False
        self._changed = asyncio.Event()

    def attach(self) -> None:
        for _seq, chunk in self.channel.add_listener(self):
            self.segmenter.feed(chunk)
        if self.segmenter.window():
            self._changed.set()

    # -- ChunkListener -----------------------------------------------------------------------------------------
    def on_chunk(self, seq: int, chunk: Chunk) -> None:
        if self.segmenter.feed(chunk) is not None:
            self._wake()

    def on_channel_stop(self) -> None:
        self.stopped = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- players -----------------------------------------------------------------------------------------------
    async def wait_segments(self, count: int, timeout: float) -> None:
        """Wait until the playlist lists at least ``count`` segments, or raise ChannelUnavailable."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.segmenter.window()) < count:
            if self.stopped:
                raise ChannelUnavailable(f"channel {self.channel.id} stopped")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ChannelUnavailable(f"channel {self.channel.id} has no HLS segment after {timeout:g} s")
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue

    def playlist(self, uri: Callable[[Segment], str]) -> bytes:
        return self.segmenter.playlist(uri)

    def segment(self, seq: int) -> Segment | None:
        return self.segmenter.get(seq)


class HlsService:
    """One packager per running channel."""

    def __init__(self, settings: HlsSettings, *, clock: Clock = monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._packagers: dict[int, HlsPackager] = {}

    def for_channel(self, channel: Channel) -> HlsPackager:
        packager = self._packagers.get(channel.id)
        if packager is None or packager.stopped or packager.channel is not channel:
            packager = HlsPackager(channel, self._settings, clock=self._clock)
            packager.attach()
            self._packagers[channel.id] = packager
        return packager

    def get(self, channel_id: int) -> HlsPackager | None:
        packager = self._packagers.get(channel_id)
        return None if packager is None or packager.stopped else packager
