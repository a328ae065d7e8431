"""The set-up shared by the importer and scheduler tests: a database with three channels, a fake clock, an
importer, and a guide server. Fixtures are imported explicitly by the test modules that use them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind, ProgrammeRecord
from headend.catalog.records import ChannelInput
from headend.epg.importer import EpgImporter
from headend.settings import Settings
from tests.epg.guide_server import GuideServer
from tests.epg.guides import schedule, xmltv

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUIDE_CHANNELS = [("a.tv", "Alpha"), ("b.tv", "Bravo"), ("x.tv", "Xray")]


class Clock:
    def __init__(self) -> None:
        self.value = NOW

    def __call__(self) -> datetime:
        return self.value


@dataclass
class Env:
    settings: Settings
    store: EpgStore
    channels: ChannelStore
    importer: EpgImporter
    clock: Clock
    alpha: int
    bravo: int
    charlie: int

    def write(self, name: str, data: bytes) -> str:
        self.settings.epg_dir.mkdir(parents=True, exist_ok=True)
        (self.settings.epg_dir / name).write_bytes(data)
        return name

    async def file_source(self, name: str, data: bytes) -> int:
        location = self.write(name, data)
        source = await self.store.create_source(EpgSourceInput(name=name, kind=EpgSourceKind.FILE, location=location))
        return source.id

    async def url_source(self, name: str, url: str) -> int:
        source = await self.store.create_source(EpgSourceInput(name=name, kind=EpgSourceKind.URL, location=url))
        return source.id

    async def guide(self) -> dict[int, list[ProgrammeRecord]]:
        ids = [self.alpha, self.bravo, self.charlie]
        return await self.store.programmes(ids, NOW - timedelta(days=30), NOW + timedelta(days=30))


@pytest.fixture
def epg_settings(tmp_path: Path) -> Settings:
    base = settings_mod.load(env={})
    return settings_mod.replace(
        base,
        paths={"data_dir": tmp_path / "data"},
        epg={"past_days": 1, "future_days": 2, "fetch_timeout_s": 2.0, "max_download_mib": 32},
    )


@pytest.fixture
async def env(db: Database, epg_settings: Settings) -> Env:
    clock = Clock()
    store = EpgStore(db, now=clock)
    channels = ChannelStore(db)
    alpha = await channels.create_channel(ChannelInput(name="Alpha TV", tvg_id="a.tv"))
    bravo = await channels.create_channel(ChannelInput(name="Bravo HD"))  # matched by name
    charlie = await channels.create_channel(ChannelInput(name="Charlie"))  # not in any guide
    importer = EpgImporter(store, channels, epg_settings, now=clock)
    return Env(epg_settings, store, channels, importer, clock, alpha.id, bravo.id, charlie.id)


@pytest.fixture
def server() -> Iterator[GuideServer]:
    with GuideServer() as srv:
        yield srv


def good_guide(prefix: str = "", count: int = 6) -> bytes:
    start = NOW - timedelta(hours=1)
    shows = []
    for guide_id, _ in GUIDE_CHANNELS:
        shows += schedule(guide_id, start, count, prefix=prefix)
    return xmltv(GUIDE_CHANNELS, shows)
