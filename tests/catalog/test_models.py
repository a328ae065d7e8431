"""Schema: migrations up and down on both databases, the migrated schema equals the models, and the
constraints (foreign keys, cascades, checks, uniques) hold in the database itself."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

import headend.catalog.admin_models  # the admin tables are part of Base.metadata
import headend.catalog.epg_models  # the EPG tables are part of Base.metadata
import headend.catalog.subscriber_models  # noqa: F401 - the subscriber tables are part of Base.metadata
from headend.catalog.db import Database, alembic_config, head_revision
from headend.catalog.models import Base, CatalogState, CategoryRow, ChannelRow, ProfileRow, SourceRow
from headend.catalog.records import CategoryKind
from headend.errors import DatabaseError
from headend.ingest.sources import ProfileMode, SourceKind

TABLES = {"categories", "profiles", "channels", "sources", "catalog_state"}
SUBSCRIBER_TABLES = {"bouquets", "bouquet_channels", "packages", "package_bouquets", "lines", "line_packages"}
EPG_TABLES = {"epg_sources", "epg_imports", "epg_programmes", "epg_matches", "epg_overrides"}
ADMIN_TABLES = {"admins", "admin_reseller_packages", "admin_sessions", "api_tokens", "audit_log"}
_PROFILE_SIZES: dict[str, Any] = {
    "video_bitrate_kbps": 1000,
    "max_height": 480,
    "fps": 25,
    "gop_seconds": 2.0,
    "x264_preset": "fast",
    "audio_bitrate_kbps": 96,
}


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _empty_string_defaults_match(
    context: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_default: str | None,
    metadata_default: object,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's SQLite comparison reports ``DEFAULT ''`` (reflected as ``('')``) as changed, because its
    quote-stripping regex needs one character. Equal empty strings are equal; the rest: Alembic decides."""
    if inspected_default is None or rendered_metadata_default is None:
        return None
    if inspected_default.strip("()'\"") == rendered_metadata_default.strip("()'\"") == "":
        return False
    return None


def _schema_diff(conn: Connection) -> list[Any]:
    opts = {"compare_type": True, "compare_server_default": _empty_string_defaults_match}
    return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_table_names)


async def test_upgrade_from_empty_to_head(empty_db: Database) -> None:
    assert await empty_db.current_revision() is None
    assert await _tables(empty_db) == set()
    await empty_db.migrate()
    assert await empty_db.current_revision() == head_revision()
    assert await _tables(empty_db) == TABLES | SUBSCRIBER_TABLES | EPG_TABLES | ADMIN_TABLES | {"alembic_version"}


async def test_migrate_twice_is_a_no_op(db: Database) -> None:
    await db.migrate()
    async with db.session() as session:
        assert len((await session.scalars(select(ProfileRow))).all()) == 2


async def test_downgrade_to_base_then_upgrade_again(db: Database) -> None:
    await db.downgrade("base")
    assert await db.current_revision() is None
    assert await _tables(db) == {"alembic_version"}
    await db.migrate()
    assert await db.current_revision() == head_revision()
    async with db.session() as session:
        assert [p.name for p in (await session.scalars(select(ProfileRow).order_by(ProfileRow.id))).all()] == [
            "remux",
            "h264-720p",
        ]


async def test_schema_at_head_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_schema_diff) == []


async def test_check_schema_names_the_fix(empty_db: Database) -> None:
    with pytest.raises(DatabaseError) as info:
        await empty_db.check_schema()
    expected = f"database is at revision base (empty), expected {head_revision()}: run `headend db upgrade`"
    assert info.value.message == expected
    await empty_db.migrate()
    await empty_db.check_schema()


async def test_migration_seeds_profiles_and_the_state_row(db: Database) -> None:
    async with db.session() as session:
        h264 = (await session.scalars(select(ProfileRow).where(ProfileRow.name == "h264-720p"))).one()
        state = (await session.scalars(select(CatalogState))).one()
    seeded = (h264.mode, h264.video_bitrate_kbps, h264.max_height, h264.fps, h264.gop_seconds, h264.x264_preset)
    assert seeded == ("transcode", 2500, 720, 25, 2.0, "veryfast")
    assert h264.audio_bitrate_kbps == 128
    assert (state.id, state.version) == (1, 0)


async def test_offline_mode_renders_ddl(db: Database) -> None:
    cfg = alembic_config()
    cfg.output_buffer = io.StringIO()
    cfg.attributes["dialect"] = db.dialect
    command.upgrade(cfg, "head", sql=True)
    ddl = cfg.output_buffer.getvalue()
    assert "CREATE TABLE channels" in ddl
    assert "INSERT INTO profiles" in ddl


def test_env_refuses_to_run_without_a_connection() -> None:
    with pytest.raises(RuntimeError, match=r"Database\.migrate"):
        command.upgrade(alembic_config(), "head")


# -- constraints, checked below the store ----------------------------------------------------------


async def _add_channel(db: Database, **values: Any) -> int:
    async with db.write() as session:
        row = ChannelRow(name="News", profile_id=1, **values)
        session.add(row)
        await session.flush()
        return row.id


async def test_deleting_a_channel_cascades_to_its_sources(db: Database) -> None:
    channel_id = await _add_channel(db)
    async with db.write() as session:
        session.add_all([SourceRow(channel_id=channel_id, position=i, kind="testpattern") for i in range(3)])
    async with db.write() as session:
        await session.delete(await session.get(ChannelRow, channel_id))
    async with db.session() as session:
        assert (await session.scalars(select(SourceRow))).all() == []


async def test_deleting_a_category_leaves_its_channels_uncategorised(db: Database) -> None:
    async with db.write() as session:
        category = CategoryRow(kind="live", name="News")
        session.add(category)
        await session.flush()
        category_id = category.id
    channel_id = await _add_channel(db, category_id=category_id)
    async with db.write() as session:
        await session.delete(await session.get(CategoryRow, category_id))
    async with db.session() as session:
        channel = await session.get(ChannelRow, channel_id)
        assert channel is not None
        assert channel.category_id is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: SourceRow(channel_id=999, position=0, kind="http", url="http://x/"),  # no such channel
        lambda: CategoryRow(kind="radio", name="x"),  # kind outside the CHECK
        lambda: ChannelRow(name="", profile_id=1),  # empty name
        lambda: ChannelRow(name="x", profile_id=999),  # no such profile
    ],
    ids=["fk-channel", "ck-category-kind", "ck-channel-name", "fk-profile"],
)
async def test_database_constraints_hold(db: Database, make: Callable[[], Base]) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(make())


async def test_source_positions_are_unique_per_channel(db: Database) -> None:
    channel_id = await _add_channel(db)
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add_all([SourceRow(channel_id=channel_id, position=0, kind="testpattern") for _ in range(2)])


async def test_timestamps_come_back_timezone_aware_in_utc(db: Database) -> None:
    paris = timezone(timedelta(hours=1))
    stamp = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=paris)
    channel_id = await _add_channel(db, created_at=stamp, updated_at=stamp)
    async with db.session() as session:
        row = await session.get(ChannelRow, channel_id)
    assert row is not None
    assert row.created_at == stamp
    assert row.created_at.tzinfo is UTC


async def test_naive_timestamps_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await _add_channel(db, created_at=datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test


async def test_every_enum_value_fits_its_check_constraint(db: Database) -> None:
    channel_id = await _add_channel(db)
    async with db.write() as session:
        session.add_all(SourceRow(channel_id=channel_id, position=i, kind=k.value) for i, k in enumerate(SourceKind))
        session.add_all(CategoryRow(kind=kind.value, name="x") for kind in CategoryKind)
        session.add_all(ProfileRow(name=f"p-{mode.value}", **_PROFILE_SIZES, mode=mode.value) for mode in ProfileMode)
    async with db.session() as session:
        assert len((await session.scalars(select(SourceRow))).all()) == len(SourceKind)
