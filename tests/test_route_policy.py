"""Every route, native or ASGI, declares who may call it; operator routes refuse calls without the token."""

from __future__ import annotations

from pathlib import Path

import httpx

from headend.app import PolicyRoute, routes
from headend.delivery.media import MediaService
from headend.delivery.test_routes import TestStreamRoutes
from headend.hls.packager import HlsService
from headend.http.policy import Policy
from headend.http.routes import NativeRouter
from headend.relay.config import ChannelConfig
from headend.relay.hub import ChannelHub
from headend.settings import Settings
from headend.types import ChannelId
from tests.conftest import running_headend

# The checked-in policy table. A new route fails this test until it is added here on purpose.
EXPECTED = {
    "/healthz": Policy.PUBLIC,
    "/api/v1/status": Policy.OPERATOR,
    "/api/v1/channels": Policy.OPERATOR,
    "/player_api.php": Policy.SUBSCRIBER,
    "/panel_api.php": Policy.SUBSCRIBER,
    "/get.php": Policy.SUBSCRIBER,
    "/xmltv.php": Policy.SUBSCRIBER,
    "/stream/{channel_id}.ts": Policy.TEST_ROUTES,
    "/stream/{channel_id}.m3u8": Policy.TEST_ROUTES,
    "/stream/{channel_id}/{seq}.ts": Policy.TEST_ROUTES,
}


async def _never(channel_id: ChannelId) -> ChannelConfig:
    raise AssertionError("not used")


def _native_routes(settings: Settings) -> NativeRouter:
    hub = ChannelHub(_never, relay=settings.relay, ingest=settings.ingest, ffmpeg="ffmpeg")
    media = MediaService(hub, HlsService(settings.hls), relay=settings.relay, hls_settings=settings.hls)
    router = NativeRouter()
    TestStreamRoutes(media).register(router)
    return router


def test_every_route_declares_a_policy_matching_the_table(settings: Settings) -> None:
    found: dict[str, Policy] = {}
    for route in routes():
        assert isinstance(route, PolicyRoute), route
        found[route.path] = route.policy
    for native in _native_routes(settings).routes:
        found[native.path] = native.policy
    assert found == EXPECTED


async def test_operator_routes_need_the_token(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, _ids):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            for path in ("/api/v1/status", "/api/v1/channels"):
                assert (await client.get(path)).status_code == 403
                bad = await client.get(path, headers={"Authorization": "Bearer wrong"})
                assert bad.status_code == 403
                good = await client.get(path, headers={"Authorization": "Bearer test-operator-token"})
                assert good.status_code == 200
            listing = (
                await client.get("/api/v1/channels", headers={"Authorization": "Bearer test-operator-token"})
            ).json()
            assert [c["name"] for c in listing["channels"]] == ["Test 1"]


async def test_test_routes_are_off_by_default(settings: Settings, loop_ts: Path) -> None:
    from headend import settings as settings_mod

    closed = settings_mod.replace(settings, delivery={"test_routes": False})
    async with running_headend(closed, [[str(loop_ts)]]) as (headend, ids):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}") as client:
            assert (await client.get(f"/stream/{ids[0]}.ts")).status_code == 404
            assert (await client.get(f"/stream/{ids[0]}.m3u8")).status_code == 404
