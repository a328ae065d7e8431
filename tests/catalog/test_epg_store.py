"""EpgStore, configuration side: guide sources (CRUD, validation, due times), overrides, and the EPG tables'
migration. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.epg_models import EpgImportRow, EpgSourceRow
from headend.catalog.epg_records import EpgOverride, EpgSourceInput, EpgSourceKind
from headend.catalog.models import Base
from headend.errors import Conflict, NotFound, ValidationError
from tests.catalog.conftest import FakeNow
from tests.catalog.epg_env import T0, add_channels, run_import, url_source

EPG_TABLES = {"epg_sources", "epg_imports", "epg_programmes", "epg_matches", "epg_overrides"}


@pytest.fixture
def epg(db: Database, fake_now: FakeNow) -> EpgStore:
    return EpgStore(db, now=fake_now)


# -- sources ----------------------------------------------------------------------------------------


async def test_create_get_and_list_sources(epg: EpgStore, fake_now: FakeNow) -> None:
    late = await epg.create_source(url_source("late", priority=50))
    first = await epg.create_source(url_source("first", priority=10))
    tie = await epg.create_source(url_source("tie", priority=50))
    upload = await epg.create_source(EpgSourceInput("upload", EpgSourceKind.FILE, "guide.xml", refresh_hours=0))
    assert (late.kind, late.location, late.refresh_hours, late.enabled) == (
        EpgSourceKind.URL,
        "https://guide.example/late.xml.gz",
        24,
        True,
    )
    assert late.created_at == fake_now.value
    assert (late.last_import_at, late.last_success_at, late.last_status, late.last_message) == (None, None, "", "")
    assert (late.channels_matched, late.programmes) == (0, 0)
    assert await epg.get_source(late.id) == late
    assert await epg.get_source_by_name("upload") == upload
    assert [s.name for s in await epg.list_sources()] == ["first", "late", "tie", "upload"]
    assert [s.id for s in await epg.list_sources()] == [first.id, late.id, tie.id, upload.id]


async def test_duplicate_source_name_is_a_conflict(epg: EpgStore) -> None:
    await epg.create_source(url_source("main"))
    other = await epg.create_source(url_source("other"))
    with pytest.raises(Conflict, match="'main' already exists"):
        await epg.create_source(url_source("main", priority=1))
    with pytest.raises(Conflict, match="'main' already exists"):
        await epg.update_source(other.id, name="main")
    assert [s.name for s in await epg.list_sources()] == ["main", "other"]


async def test_missing_sources_are_not_found(epg: EpgStore) -> None:
    for missing in (999, 0, -1, 2**40):
        with pytest.raises(NotFound):
            await epg.get_source(missing)
    with pytest.raises(NotFound, match="no EPG source named 'nope'"):
        await epg.get_source_by_name("nope")
    with pytest.raises(NotFound):
        await epg.update_source(999, priority=1)
    with pytest.raises(NotFound):
        await epg.delete_source(999)
    with pytest.raises(NotFound):
        await epg.begin_import(999)


async def test_update_source_changes_only_the_given_fields(epg: EpgStore) -> None:
    source = await epg.create_source(url_source("main"))
    updated = await epg.update_source(source.id, priority=5, enabled=False)
    assert (updated.name, updated.location, updated.refresh_hours, updated.priority, updated.enabled) == (
        "main",
        source.location,
        24,
        5,
        False,
    )
    renamed = await epg.update_source(source.id, name="renamed", location="http://other.example/g.xml", refresh_hours=0)
    assert (renamed.name, renamed.location, renamed.refresh_hours, renamed.priority) == (
        "renamed",
        "http://other.example/g.xml",
        0,
        5,
    )
    assert await epg.get_source(source.id) == renamed


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"location": "ftp://guide.example/g.xml"}, "location"),
        ({"location": "not a url"}, "location"),
        ({"refresh_hours": -1}, "refresh_hours"),
        ({"refresh_hours": 24 * 31}, "refresh_hours"),
        ({"priority": True}, "priority"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
async def test_update_source_validates_like_the_input(epg: EpgStore, changes: dict[str, object], field: str) -> None:
    source = await epg.create_source(url_source("main"))
    with pytest.raises(ValidationError) as info:
        await epg.update_source(source.id, **changes)  # type: ignore[arg-type]
    assert info.value.field == field
    assert await epg.get_source(source.id) == source


@pytest.mark.parametrize(
    ("kind", "location"),
    [(EpgSourceKind.FILE, "../etc/passwd"), (EpgSourceKind.FILE, "a/b.xml"), (EpgSourceKind.URL, "guide.xml")],
)
async def test_file_and_url_locations_are_checked(epg: EpgStore, kind: EpgSourceKind, location: str) -> None:
    with pytest.raises(ValidationError):
        await epg.create_source(EpgSourceInput("x", kind, location))
    assert await epg.list_sources() == []


async def test_file_source_location_update_stays_a_plain_name(epg: EpgStore) -> None:
    source = await epg.create_source(EpgSourceInput("upload", EpgSourceKind.FILE, "guide.xml"))
    with pytest.raises(ValidationError) as info:
        await epg.update_source(source.id, location="https://guide.example/g.xml")
    assert info.value.field == "location"
    assert (await epg.update_source(source.id, location="guide-2.xml.gz")).location == "guide-2.xml.gz"


async def test_due_sources_follow_the_refresh_period(epg: EpgStore, fake_now: FakeNow) -> None:
    daily = await epg.create_source(url_source("daily", refresh_hours=24))
    hourly = await epg.create_source(url_source("hourly", refresh_hours=1, priority=200))
    await epg.create_source(url_source("manual", refresh_hours=0))
    await epg.create_source(url_source("off", enabled=False))
    assert [s.name for s in await epg.due_sources(fake_now.value)] == ["daily", "hourly"]  # never imported

    for source in (daily, hourly):
        await epg.fail_import(await epg.begin_import(source.id), source.id, "unreachable")  # a failure counts too
    start = fake_now.value
    assert await epg.due_sources(start) == []
    assert [s.name for s in await epg.due_sources(start + timedelta(minutes=59))] == []
    assert [s.name for s in await epg.due_sources(start + timedelta(hours=1))] == ["hourly"]
    assert [s.name for s in await epg.due_sources(start + timedelta(hours=24))] == ["daily", "hourly"]

    fake_now.advance(hours=3)
    await run_import(epg, hourly.id, {})
    assert [s.name for s in await epg.due_sources(start + timedelta(hours=3, minutes=30))] == []
    assert [s.name for s in await epg.due_sources(start + timedelta(hours=4))] == ["hourly"]


async def test_source_status_after_imports(epg: EpgStore, store: ChannelStore, fake_now: FakeNow) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    fake_now.advance(minutes=5)
    await run_import(epg, source.id, {channel: []}, message="1 channel, 0 programmes")
    ok = await epg.get_source(source.id)
    assert (ok.last_import_at, ok.last_success_at, ok.last_status, ok.last_message) == (
        fake_now.value,
        fake_now.value,
        "ok",
        "1 channel, 0 programmes",
    )
    assert ok.channels_matched == 1
    succeeded_at = fake_now.value
    fake_now.advance(hours=1)
    await epg.fail_import(await epg.begin_import(source.id), source.id, "x" * 3000)
    failed = await epg.get_source(source.id)
    assert (failed.last_import_at, failed.last_success_at, failed.last_status) == (
        fake_now.value,
        succeeded_at,
        "failed",
    )
    assert failed.last_message == "x" * 2000
    assert failed.channels_matched == 1  # the active guide is still the successful one


async def test_delete_source_removes_it_and_bumps_the_version(epg: EpgStore) -> None:
    source = await epg.create_source(url_source("main"))
    before = await epg.guide_version()
    await epg.delete_source(source.id)
    assert await epg.list_sources() == []
    assert await epg.guide_version() > before


# -- overrides --------------------------------------------------------------------------------------


async def test_overrides_set_replace_list_and_clear(epg: EpgStore, store: ChannelStore) -> None:
    one, two = await add_channels(store, 2)
    source = await epg.create_source(url_source("main"))
    assert await epg.set_override(two, "bbc1.uk") == EpgOverride(two, "bbc1.uk", None)
    assert await epg.set_override(one, "cnn.us", source.id) == EpgOverride(one, "cnn.us", source.id)
    assert await epg.set_override(two, "bbc-one.uk", source.id) == EpgOverride(two, "bbc-one.uk", source.id)
    assert await epg.list_overrides() == [
        EpgOverride(one, "cnn.us", source.id),
        EpgOverride(two, "bbc-one.uk", source.id),
    ]
    await epg.clear_override(one)
    await epg.clear_override(one)  # already gone: nothing happens
    assert await epg.list_overrides() == [EpgOverride(two, "bbc-one.uk", source.id)]


async def test_override_errors(epg: EpgStore, store: ChannelStore) -> None:
    (channel,) = await add_channels(store, 1)
    with pytest.raises(NotFound, match="channel 999"):
        await epg.set_override(999, "x")
    with pytest.raises(NotFound, match="EPG source 999"):
        await epg.set_override(channel, "x", 999)
    for bad in ("", "x" * 201, "a\nb"):
        with pytest.raises(ValidationError) as info:
            await epg.set_override(channel, bad)
        assert info.value.field == "guide_id"
    assert await epg.list_overrides() == []


async def test_overrides_go_with_their_channel_or_source(epg: EpgStore, store: ChannelStore) -> None:
    one, two, three = await add_channels(store, 3)
    source = await epg.create_source(url_source("main"))
    await epg.set_override(one, "a")
    await epg.set_override(two, "b", source.id)
    await epg.set_override(three, "c")
    await store.delete_channel(one)
    await epg.delete_source(source.id)
    assert await epg.list_overrides() == [EpgOverride(three, "c", None)]


# -- schema -----------------------------------------------------------------------------------------


async def test_one_active_import_per_source_is_kept_by_the_database(db: Database, epg: EpgStore) -> None:
    source = await epg.create_source(url_source("main"))
    async with db.write() as session:
        session.add(EpgImportRow(source_id=source.id, state="active", started_at=T0))
        session.add(EpgImportRow(source_id=source.id, state="replaced", started_at=T0))
        session.add(EpgImportRow(source_id=source.id, state="replaced", started_at=T0))
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(EpgImportRow(source_id=source.id, state="active", started_at=T0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: EpgSourceRow(name="x", kind="ftp", location="x", created_at=T0),
        lambda: EpgSourceRow(name="", kind="url", location="x", created_at=T0),
        lambda: EpgSourceRow(name="x", kind="url", location="x", created_at=T0, last_status="meh"),
        lambda: EpgImportRow(source_id=999, state="running", started_at=T0),
        lambda: EpgImportRow(source_id=1, state="done", started_at=T0),
    ],
    ids=["ck-kind", "ck-name", "ck-status", "fk-source", "ck-state"],
)
async def test_epg_constraints_hold(db: Database, epg: EpgStore, make: Callable[[], Base]) -> None:
    await epg.create_source(url_source("main"))
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(make())


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def test_downgrade_to_0002_drops_exactly_the_epg_tables(db: Database, epg: EpgStore, store: ChannelStore) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {channel: []})
    await db.downgrade("0003")  # later revisions first: what is left at 0003 is the baseline
    at_0003 = await _tables(db)
    assert EPG_TABLES <= at_0003
    await db.downgrade("0002")
    assert await db.current_revision() == "0002"
    assert await _tables(db) == at_0003 - EPG_TABLES
    assert [c.id for c in await store.list_channels()] == [channel]
    async with db.session() as session:  # no index of ours is left behind either (SQLite keeps them by name)
        if db.dialect == "sqlite":
            names = (await session.execute(text("SELECT name FROM sqlite_master WHERE name LIKE '%epg%'"))).all()
        else:
            names = (await session.execute(text("SELECT relname FROM pg_class WHERE relname LIKE '%epg%'"))).all()
    assert names == []
    await db.migrate("0003")
    assert await _tables(db) == at_0003
    await db.migrate()
    assert await epg.list_sources() == []
