"""Serving live media to one player: continuous MPEG-TS and in-memory HLS.

These functions are the end of one viewer's path: the route handler has decided *which* channel the
request may watch (authentication and entitlement happen before); here the channel is acquired from the
hub, the player waits for the first keyframe if the channel is cold, and bytes flow from the relay's
memory to the socket. No database call happens on this path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from headend.hls.packager import HlsService
from headend.hls.segmenter import Segment
from headend.http.connection import Request, Responder
from headend.relay.hub import ChannelHub
from headend.settings import HlsSettings, RelaySettings
from headend.types import ChannelId

logger = logging.getLogger(__name__)

TS_HEADERS = [
    (b"content-type", b"video/mp2t"),
    (b"cache-control", b"no-store"),
    (b"access-control-allow-origin", b"*"),
]
M3U8_TYPE = b"application/vnd.apple.mpegurl"
PLAYLIST_HEADERS = [(b"cache-control", b"no-cache"), (b"access-control-allow-origin", b"*")]
SEGMENT_HEADERS = [
    (b"content-type", b"video/mp2t"),
    (b"cache-control", b"max-age=60"),
    (b"access-control-allow-origin", b"*"),
]


class MediaService:
    def __init__(self, hub: ChannelHub, hls: HlsService, *, relay: RelaySettings, hls_settings: HlsSettings) -> None:
        self.hub = hub
        self.hls = hls
        self._relay = relay
        self._hls_settings = hls_settings

    async def serve_ts(self, channel_id: ChannelId, request: Request, responder: Responder) -> None:
        """Continuous MPEG-TS until the player leaves or the channel stops."""
        channel = await self.hub.acquire(channel_id)
        with channel.reservation():
            await channel.wait_ready(self._relay.start_wait_s)
            responder.start(200, TS_HEADERS, length=None)
            if request.method == "HEAD":
                responder.end()
                return
            responder.set_buffer_limits(
                self._relay.viewer_max_queue_bytes, kernel=self._relay.viewer_socket_buffer_bytes
            )
            viewer = channel.attach(responder)
        try:
            await responder.wait_closed()
        finally:
            channel.detach(viewer)
            logger.debug("viewer %d of channel %s left after %d bytes", viewer.id, channel_id, viewer.bytes_sent)

    async def serve_playlist(
        self, channel_id: ChannelId, lease_key: str, responder: Responder, uri: Callable[[Segment], str]
    ) -> None:
        channel = await self.hub.acquire(channel_id)
        with channel.reservation():
            packager = self.hls.for_channel(channel)
            await packager.wait_segments(1, self._relay.start_wait_s + self._hls_settings.segment_seconds * 2)
            channel.touch_lease(lease_key, self._hls_settings.viewer_lease_s)
        body = packager.playlist(uri)
        responder.send_simple(200, body, M3U8_TYPE, PLAYLIST_HEADERS)

    def serve_segment(
        self, channel_id: ChannelId, seq: int, lease_key: str, responder: Responder, *, head: bool = False
    ) -> bool:
        """Send segment ``seq`` (only its head for HEAD) if it is still in memory; False when it is not (the
        caller answers 404)."""
        channel = self.hub.get(channel_id)
        packager = self.hls.get(channel_id) if channel is not None else None
        segment = packager.segment(seq) if packager is not None else None
        if channel is None or segment is None:
            return False
        channel.touch_lease(lease_key, self._hls_settings.viewer_lease_s)
        responder.start(200, SEGMENT_HEADERS, length=segment.size)
        if not head:
            responder.write_parts(segment.parts)
        responder.end()
        return True
