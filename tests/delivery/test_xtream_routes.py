"""The subscriber route table: what each path form matches, that the short form shadows nothing, and that
every route declares a policy. Built from the real objects; no server, no database connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from headend.auth.lines import LineAuthenticator
from headend.auth.passwords import PasswordHasher
from headend.auth.sessions import InProcessSessionStore
from headend.auth.tokens import SegmentTokens
from headend.catalog.db import Database
from headend.catalog.subscribers import SubscriberStore
from headend.delivery.media import MediaService
from headend.delivery.test_routes import TestStreamRoutes
from headend.delivery.xtream_routes import RESERVED_FIRST_SEGMENTS, XtreamStreamRoutes, channel_id_of
from headend.errors import NotFound
from headend.hls.packager import HlsService
from headend.http.policy import Policy
from headend.http.routes import NativeRouter
from headend.relay.config import ChannelConfig
from headend.relay.hub import ChannelHub
from headend.settings import Settings
from headend.types import ChannelId


async def _never(channel_id: ChannelId) -> ChannelConfig:
    raise AssertionError("not used")


@pytest.fixture
def router(settings: Settings, tmp_path: Path) -> NativeRouter:
    hub = ChannelHub(_never, relay=settings.relay, ingest=settings.ingest, ffmpeg="ffmpeg")
    media = MediaService(hub, HlsService(settings.hls), relay=settings.relay, hls_settings=settings.hls)
    hasher = PasswordHasher(b"k" * 32)
    store = SubscriberStore(Database(f"sqlite:///{tmp_path / 'unused.db'}"), hasher)
    routes = XtreamStreamRoutes(
        media,
        LineAuthenticator(store, hasher, settings.subscribers),
        InProcessSessionStore(settings.subscribers),
        SegmentTokens(b"k" * 32, 60),
    )
    router = NativeRouter()
    TestStreamRoutes(media).register(router)
    routes.register(router)
    return router


MATCHES = [
    ("/live/alice/Secret-123/7.ts", "live_ts", {"username": "alice", "password": "Secret-123", "stream_id": "7"}),
    ("/live/alice/Secret-123/7", "live_bare", {"stream_id": "7"}),
    ("/live/alice/Secret-123/7.m3u8", "live_m3u8", {"stream_id": "7"}),
    ("/alice/Secret-123/7.ts", "short_ts", {"username": "alice"}),
    ("/alice/Secret-123/7", "short_bare", {"password": "Secret-123"}),
    ("/alice/Secret-123/7.m3u8", "short_m3u8", {"stream_id": "7"}),
    ("/a.b@c_d-e/p.w~x@y_z-0/1234567890.ts", "short_ts", {"username": "a.b@c_d-e", "password": "p.w~x@y_z-0"}),
    ("/livex/Secret-123/7.ts", "short_ts", {"username": "livex"}),  # a reserved word only as a whole segment
    ("/hls/AbC_-9/7/42.ts", "hls_segment", {"token": "AbC_-9", "channel_id": "7", "seq": "42"}),
    ("/stream/7/42.ts", "stream_segment", {}),  # the test routes keep their paths
]


@pytest.mark.parametrize(("path", "name", "params"), MATCHES)
def test_paths_match_their_route(router: NativeRouter, path: str, name: str, params: dict[str, str]) -> None:
    found = router.match("GET", path)
    assert found is not None, path
    route, groups = found
    assert route.name == name
    assert params.items() <= groups.items()
    assert router.match("HEAD", path) is not None
    assert router.match("POST", path) is None


NO_MATCH = [
    *[f"/{word}/Secret-123/7.ts" for word in RESERVED_FIRST_SEGMENTS],
    "/api/v1/7",
    "/live/alice/Secret-123/12345678901.ts",  # eleven digits
    "/live/alice/Secret-123/-7.ts",
    "/live/alice/Secret-123/7.mp4",
    "/live/alice/Secret-123/7.ts/",
    "/live/alice/Secret-123/7.TS",
    "/live/alice/Sec ret/7.ts",
    "/live/alice/Sec/ret/7.ts",
    "/live/alice/Sec\x00ret/7.ts",
    "/live/al!ce/Secret-123/7.ts",
    "/live/" + "a" * 65 + "/Secret-123/7.ts",
    "/live/alice/" + "p" * 65 + "/7.ts",
    "/live//Secret-123/7.ts",
    "/alice/7.ts",
    "/alice/Secret-123/x/7.ts",
    "/movie/alice/Secret-123/7.mp4",
    "/series/alice/Secret-123/7.mkv",
    "/timeshift/alice/Secret-123/60/2024-01-01:10-00/7.ts",
    "/hls/tok/7/42.m3u8",
    "/hls/tok/7/1234567890123456789.ts",
    "/hls//7/42.ts",
    "/hls/" + "t" * 257 + "/7/42.ts",
    "/player_api.php",
    "/get.php",
    "/xmltv.php",
    "/healthz",
]


@pytest.mark.parametrize("path", NO_MATCH)
def test_other_paths_are_left_alone(router: NativeRouter, path: str) -> None:
    assert router.match("GET", path) is None


def test_every_subscriber_route_declares_its_policy(router: NativeRouter) -> None:
    policies = {route.path: route.policy for route in router.routes if route.policy is not Policy.TEST_ROUTES}
    assert policies == {
        "/live/{username}/{password}/{stream_id}.ts": Policy.SUBSCRIBER,
        "/live/{username}/{password}/{stream_id}": Policy.SUBSCRIBER,
        "/live/{username}/{password}/{stream_id}.m3u8": Policy.SUBSCRIBER,
        "/{username}/{password}/{stream_id}.ts": Policy.SUBSCRIBER,
        "/{username}/{password}/{stream_id}": Policy.SUBSCRIBER,
        "/{username}/{password}/{stream_id}.m3u8": Policy.SUBSCRIBER,
        "/hls/{token}/{channel_id}/{seq}.ts": Policy.SEGMENT_TOKEN,
    }


@pytest.mark.parametrize("raw", ["0", "2147483648", "9999999999", "0000000000"])
def test_channel_ids_outside_the_catalog_range_are_not_found(raw: str) -> None:
    with pytest.raises(NotFound):
        channel_id_of(raw)


def test_channel_ids_inside_the_range_parse() -> None:
    assert channel_id_of("0000000007") == 7
    assert channel_id_of("2147483647") == 2**31 - 1
