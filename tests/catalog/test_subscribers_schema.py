"""Schema of migration 0002 (subscribers): up from 0001 with data kept, down to 0001 with data in the new
tables, offline DDL, and the constraints (cascades, RESTRICT, uniques, checks) held by the database itself."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, select
from sqlalchemy.exc import IntegrityError

from headend.catalog.db import Database, alembic_config
from headend.catalog.models import Base, ChannelRow
from headend.catalog.subscriber_models import (
    BouquetChannelRow,
    BouquetRow,
    LinePackageRow,
    LineRow,
    PackageBouquetRow,
    PackageRow,
)
from headend.catalog.subscriber_records import OUTPUT_FORMATS

SUBSCRIBER_TABLES = {"bouquets", "bouquet_channels", "packages", "package_bouquets", "lines", "line_packages"}


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_table_names)


def _line(**values: Any) -> LineRow:
    base: dict[str, Any] = {
        "username": "alice",
        "password_hash": "x",
        "allowed_outputs": list(OUTPUT_FORMATS),
        "allowed_ips": [],
        "allowed_user_agents": [],
    }
    return LineRow(**base | values)


def _package(**values: Any) -> PackageRow:
    return PackageRow(
        **{"name": "Basic", "duration_days": 30, "max_connections": 1, "allowed_outputs": ["ts"]} | values
    )


async def _seed(db: Database) -> dict[str, int]:
    """A channel in a bouquet in a package held by a line."""
    async with db.write() as session:
        channel = ChannelRow(name="News", profile_id=1)
        bouquet = BouquetRow(name="Main")
        package = _package()
        line = _line()
        session.add_all([channel, bouquet, package, line])
        await session.flush()
        session.add_all(
            [
                BouquetChannelRow(bouquet_id=bouquet.id, channel_id=channel.id, position=0),
                PackageBouquetRow(package_id=package.id, bouquet_id=bouquet.id, position=0),
                LinePackageRow(line_id=line.id, package_id=package.id, position=0),
            ]
        )
        return {"channel": channel.id, "bouquet": bouquet.id, "package": package.id, "line": line.id}


async def _count(db: Database, model: type[Base]) -> int:
    async with db.session() as session:
        return len((await session.scalars(select(model))).all())


async def test_upgrade_from_0001_keeps_the_channels(empty_db: Database) -> None:
    await empty_db.migrate("0001")
    async with empty_db.write() as session:
        session.add(ChannelRow(name="Kept", profile_id=1))
    assert not SUBSCRIBER_TABLES & await _tables(empty_db)
    await empty_db.migrate("0002")
    assert await empty_db.current_revision() == "0002"
    assert SUBSCRIBER_TABLES <= await _tables(empty_db)
    async with empty_db.session() as session:
        assert [c.name for c in (await session.scalars(select(ChannelRow))).all()] == ["Kept"]


async def test_downgrade_to_0001_drops_only_the_subscriber_tables(db: Database) -> None:
    await _seed(db)
    await db.downgrade("0001")
    assert await db.current_revision() == "0001"
    assert not SUBSCRIBER_TABLES & await _tables(db)
    assert await _count(db, ChannelRow) == 1
    await db.migrate()
    assert await _count(db, LineRow) == 0


async def test_offline_mode_renders_the_subscriber_ddl(db: Database) -> None:
    cfg = alembic_config()
    cfg.output_buffer = io.StringIO()
    cfg.attributes["dialect"] = db.dialect
    command.upgrade(cfg, "0001:0002", sql=True)
    ddl = cfg.output_buffer.getvalue()
    for table in SUBSCRIBER_TABLES:
        assert f"CREATE TABLE {table}" in ddl


async def test_deleting_a_channel_or_a_bouquet_cascades_to_the_links(db: Database) -> None:
    ids = await _seed(db)
    async with db.write() as session:
        await session.delete(await session.get(ChannelRow, ids["channel"]))
    assert await _count(db, BouquetChannelRow) == 0
    async with db.write() as session:
        await session.delete(await session.get(BouquetRow, ids["bouquet"]))
    assert await _count(db, PackageBouquetRow) == 0
    assert await _count(db, PackageRow) == 1


async def test_a_held_package_cannot_be_deleted_but_a_line_can(db: Database) -> None:
    ids = await _seed(db)
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.delete(await session.get(PackageRow, ids["package"]))
    async with db.write() as session:
        await session.delete(await session.get(LineRow, ids["line"]))
    assert await _count(db, LinePackageRow) == 0
    async with db.write() as session:
        await session.delete(await session.get(PackageRow, ids["package"]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: _line(username=""),
        lambda: _line(max_connections=0),
        lambda: _package(duration_days=0),
        lambda: _package(max_connections=0),
        lambda: _package(name=""),
        lambda: BouquetRow(name=""),
        lambda: BouquetChannelRow(bouquet_id=999, channel_id=999, position=0),
        lambda: LinePackageRow(line_id=999, package_id=999, position=0),
    ],
    ids=[
        "ck-username",
        "ck-line-conns",
        "ck-duration",
        "ck-package-conns",
        "ck-package-name",
        "ck-bouquet-name",
        "fk-bouquet-channel",
        "fk-line-package",
    ],
)
async def test_database_constraints_hold(db: Database, make: Callable[[], Base]) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(make())


@pytest.mark.parametrize("make", [_line, lambda: BouquetRow(name="Main"), _package], ids=["line", "bouquet", "package"])
async def test_names_are_unique(db: Database, make: Callable[[], Base]) -> None:
    async with db.write() as session:
        session.add(make())
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(make())


async def test_ids_of_deleted_lines_are_not_reused(db: Database) -> None:
    async with db.write() as session:
        first = _line()
        session.add(first)
    async with db.write() as session:
        await session.delete(await session.get(LineRow, first.id))
    async with db.write() as session:
        second = _line()
        session.add(second)
    assert second.id > first.id
