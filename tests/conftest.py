"""Shared fixtures: settings on a temporary data dir, test media made by ffmpeg, and a running Headend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import pytest
import uvloop

from headend import settings as settings_mod
from headend.catalog.records import ChannelInput
from headend.cli import source_input
from headend.runtime import Headend
from headend.settings import Settings
from headend.types import ChannelId
from tests.fakes.media import make_test_ts


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests run on uvloop, the loop production runs on."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def loop_ts(media_dir: Path) -> Path:
    """10 s of 320x180 H.264 + AAC with a 1 s GOP: the file most channels in the tests loop over."""
    return make_test_ts(media_dir / "loop.ts", seconds=10, size="320x180", fps=25, gop=25, video_kbps=500)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = settings_mod.load(env={})
    return settings_mod.replace(
        base,
        http={"port": 0, "host": "127.0.0.1"},
        paths={"data_dir": tmp_path / "data"},
        delivery={"test_routes": True},
        admin={"api_token": "test-operator-token"},
        relay={"idle_grace_s": 2.0, "start_wait_s": 15.0, "buffer_seconds": 6.0},
        hls={"segment_seconds": 1.0, "playlist_length": 4},
        ingest={"stall_bytes_s": 3.0, "stall_pts_s": 5.0, "start_timeout_s": 8.0, "backoff_initial_s": 0.2,
                "backoff_max_s": 2.0, "term_grace_s": 1.0},
    )  # fmt: skip


ChannelFactory = Callable[..., "contextlib.AbstractAsyncContextManager[tuple[Headend, list[ChannelId]]]"]


@contextlib.asynccontextmanager
async def running_headend(
    settings: Settings, channels: Sequence[Sequence[str]]
) -> AsyncIterator[tuple[Headend, list[ChannelId]]]:
    """Start Headend with one channel per entry; each entry lists the channel's source URLs/paths in order."""
    headend = Headend(settings)
    await headend.start()
    try:
        assert headend.services is not None
        store = headend.services.channels
        profile = await store.get_profile_by_name("remux")
        ids = []
        for index, sources in enumerate(channels, 1):
            channel = await store.create_channel(
                ChannelInput(name=f"Test {index}", number=index, profile_id=profile.id)
            )
            for source in sources:
                await store.add_source(channel.id, source_input(source))
            ids.append(channel.id)
        yield headend, ids
    finally:
        await headend.aclose()
