"""The demo's generated guide: written, imported through the real importer, and covering now on every demo
channel with back-to-back programmes of 15-120 minutes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headend import settings as settings_mod
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.records import ChannelInput
from headend.demo import DEMO_CHANNELS, DEMO_GUIDE, ensure_guide
from headend.epg.demo_guide import write_demo_guide

NOW = datetime(2026, 5, 17, 20, 41, tzinfo=UTC)


def test_the_guide_is_deterministic(tmp_path: Path) -> None:
    channels = [(d.tvg_id, d.name) for d in DEMO_CHANNELS]
    one, two = tmp_path / "one.xml", tmp_path / "two.xml"
    count = write_demo_guide(one, channels, NOW)
    assert write_demo_guide(two, channels, NOW + timedelta(minutes=10)) == count
    assert one.read_bytes() == two.read_bytes()
    assert count > 4 * 3 * 24 * 60 // 120, "three days of programmes per channel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.xml", "two.xml"], "no temporary file is left"


async def test_demo_channels_get_a_full_guide_around_now(db: Database, tmp_path: Path) -> None:
    settings = settings_mod.replace(settings_mod.load(env={}), paths={"data_dir": tmp_path / "data"})
    channels = ChannelStore(db)
    ids = [(await channels.create_channel(ChannelInput(name=d.name, tvg_id=d.tvg_id))).id for d in DEMO_CHANNELS]
    report = await ensure_guide(settings, db, NOW)
    assert report.ok, report.message
    assert report.channels_matched == len(DEMO_CHANNELS)
    assert report.skipped == 0
    again = await ensure_guide(settings, db, NOW)  # the next demo run: same source, guide replaced
    assert again.ok
    store = EpgStore(db)
    assert [s.name for s in await store.list_sources()] == [DEMO_GUIDE]
    guide = await store.programmes(ids, NOW - timedelta(hours=20), NOW + timedelta(hours=44))
    for cid in ids:
        shows = guide[cid]
        assert shows[0].start <= NOW - timedelta(hours=20)
        assert shows[-1].stop >= NOW + timedelta(hours=44)
        assert any(p.start <= NOW < p.stop for p in shows), "something is on now"
        for before, after in itertools.pairwise(shows):
            assert before.stop == after.start, "back to back"
        assert {(p.stop - p.start) // timedelta(minutes=1) for p in shows} <= {15, 30, 45, 60, 90, 120}
        assert len({(p.stop - p.start) for p in shows}) > 2, "lengths vary"
        assert all(p.title and p.description and p.categories for p in shows)
        assert any(p.episode_num.startswith("S") for p in shows)
    first, second = ([p.title for p in guide[cid]] for cid in ids[:2])
    assert first != second, "each channel has its own schedule"
