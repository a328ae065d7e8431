"""Operator/test media routes without credentials: ``/stream/{id}.ts``, ``/stream/{id}.m3u8`` and its segments.

They exist for operators checking a channel and for the demo; they are off unless
``delivery.test_routes`` is set. Subscriber routes (``/live/U/P/ID.ts`` and friends) authenticate first
and then use the same :class:`~headend.delivery.media.MediaService`.
"""

from __future__ import annotations

from collections.abc import Mapping

from headend.delivery.media import MediaService
from headend.errors import NotFound
from headend.hls.segmenter import Segment
from headend.http.connection import Request, Responder
from headend.http.policy import Policy
from headend.http.routes import NativeRouter
from headend.types import ChannelId

_MAX_ID = 2**31 - 1


def _channel_id(raw: str) -> ChannelId:
    value = int(raw)
    if not 0 < value <= _MAX_ID:
        raise NotFound("no such channel")
    return ChannelId(value)


def _lease_key(request: Request, channel_id: int) -> str:
    host = request.client[0] if request.client else "?"
    agent = (request.header(b"user-agent") or b"").decode("latin-1")[:200]
    return f"test:{channel_id}:{host}:{agent}"


class TestStreamRoutes:
    __test__ = False  # not a pytest class

    def __init__(self, media: MediaService) -> None:
        self._media = media

    def register(self, router: NativeRouter) -> None:
        router.add(
            "stream_ts", "/stream/{channel_id}.ts", r"/stream/(?P<cid>\d{1,10})\.ts", self.ts, policy=Policy.TEST_ROUTES
        )
        router.add(
            "stream_m3u8",
            "/stream/{channel_id}.m3u8",
            r"/stream/(?P<cid>\d{1,10})\.m3u8",
            self.m3u8,
            policy=Policy.TEST_ROUTES,
        )
        router.add(
            "stream_segment",
            "/stream/{channel_id}/{seq}.ts",
            r"/stream/(?P<cid>\d{1,10})/(?P<seq>\d{1,18})\.ts",
            self.segment,
            policy=Policy.TEST_ROUTES,
        )

    async def ts(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        await self._media.serve_ts(_channel_id(params["cid"]), request, responder)

    async def m3u8(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        channel_id = _channel_id(params["cid"])

        def uri(segment: Segment) -> str:
            return f"{channel_id}/{segment.seq}.ts"

        await self._media.serve_playlist(channel_id, _lease_key(request, channel_id), responder, uri)

    async def segment(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        channel_id = _channel_id(params["cid"])
        lease = _lease_key(request, channel_id)
        if not self._media.serve_segment(
            channel_id, int(params["seq"]), lease, responder, head=request.method == "HEAD"
        ):
            raise NotFound("segment not available")
