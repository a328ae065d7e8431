"""Migration 0004 (admin) on both databases: up from 0003 keeping lines and packages, down to 0003 with
data in the new tables, ids not reused across the SQLite table copy, and the constraints in the database."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.exc import IntegrityError

from headend.admin.principal import Role
from headend.catalog.admin_models import ROLE_VALUES, AdminRow, AdminSessionRow, ApiTokenRow
from headend.catalog.db import Database, alembic_config
from headend.catalog.models import Base, utcnow
from headend.catalog.subscriber_models import LineRow, PackageRow
from headend.catalog.subscriber_records import LineInput, LinePatch, PackageInput, PackagePatch
from headend.catalog.subscribers import SubscriberStore
from headend.errors import ValidationError

ADMIN_TABLES = {"admins", "admin_reseller_packages", "admin_sessions", "api_tokens", "audit_log"}


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


async def _shape(db: Database) -> tuple[set[str], set[str], set[str]]:
    async with db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        lines = await conn.run_sync(_columns, "lines")
        packages = await conn.run_sync(_columns, "packages")
    return tables, lines, packages


async def _seed_0003(db: Database) -> None:
    async with db.write() as session:
        await session.execute(
            text(
                "INSERT INTO packages (name, duration_days, max_connections, allowed_outputs) "
                "VALUES ('Basic', 30, 1, '[\"ts\"]')"
            )
        )
        for name in ("alice", "bob", "carol"):
            await session.execute(
                text(
                    "INSERT INTO lines (username, password_hash, allowed_outputs, allowed_ips, allowed_user_agents, "
                    "created_at) VALUES (:u, 'x', '[\"ts\"]', '[]', '[]', :now)"
                ),
                {"u": name, "now": utcnow().replace(tzinfo=None)},
            )
        await session.execute(text("DELETE FROM lines WHERE username = 'carol'"))  # the highest id


def test_role_values_match_the_role_enum() -> None:
    assert tuple(r.value for r in Role) == ROLE_VALUES


async def test_upgrade_from_0003_keeps_lines_and_packages(empty_db: Database, hasher: Any) -> None:
    await empty_db.migrate("0003")
    await _seed_0003(empty_db)
    tables, lines, packages = await _shape(empty_db)
    assert not ADMIN_TABLES & tables
    assert "owner_id" not in lines
    await empty_db.migrate("0004")
    tables, lines, packages = await _shape(empty_db)
    assert ADMIN_TABLES <= tables
    assert "owner_id" in lines
    assert "credit_cost" in packages
    store = SubscriberStore(empty_db, hasher)
    assert [(x.username, x.owner_id) for x in await store.list_lines()] == [("alice", None), ("bob", None)]
    assert [(p.name, p.credit_cost) for p in await store.list_packages()] == [("Basic", 1)]
    new, _ = await store.create_line(LineInput(username="dave"))
    assert new.id == 4, "the id of a deleted line is not reused after the table copy"


async def test_downgrade_to_0003_drops_only_what_0004_added(db: Database, subscribers: SubscriberStore) -> None:
    async with db.write() as session:
        admin = AdminRow(username="root", password_hash="x", role="reseller", created_at=utcnow())
        session.add(admin)
        await session.flush()
        session.add(ApiTokenRow(admin_id=admin.id, name="t", token_hash="h" * 64, prefix="hdk_", created_at=utcnow()))
        admin_id = admin.id
    package = await subscribers.create_package(PackageInput(name="Basic", credit_cost=5))
    await subscribers.create_line(LineInput(username="alice", package_ids=(package.id,), owner_id=admin_id))
    await db.downgrade("0003")
    assert await db.current_revision() == "0003"
    tables, lines, packages = await _shape(db)
    assert not ADMIN_TABLES & tables
    assert "owner_id" not in lines
    assert "credit_cost" not in packages
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT username FROM lines"))).scalars().all() == ["alice"]
        assert (await conn.execute(text("SELECT name FROM packages"))).scalars().all() == ["Basic"]
    await db.migrate()
    assert (await subscribers.get_line_by_username("alice")).owner_id is None


async def test_offline_mode_renders_the_admin_ddl(db: Database) -> None:
    cfg = alembic_config()
    cfg.output_buffer = io.StringIO()
    cfg.attributes["dialect"] = db.dialect
    command.upgrade(cfg, "0003:0004", sql=True)
    ddl = cfg.output_buffer.getvalue()
    for table in ADMIN_TABLES:
        assert f"CREATE TABLE {table}" in ddl
    assert "owner_id" in ddl
    assert "credit_cost" in ddl


def _line_owned_by_nobody() -> LineRow:
    return LineRow(
        username="x", password_hash="x", allowed_outputs=[], allowed_ips=[], allowed_user_agents=[], owner_id=999
    )


def _session_of_nobody() -> AdminSessionRow:
    now = utcnow()
    return AdminSessionRow(
        id="s", token_hash="h", admin_id=999, csrf_token="c", created_at=now, last_used_at=now, expires_at=now
    )


def _admin(**values: Any) -> AdminRow:
    return AdminRow(**{"username": "root", "password_hash": "x", "role": "admin", "created_at": utcnow()} | values)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _admin(username=""),
        lambda: _admin(role="root"),
        lambda: _admin(credits=-1),
        lambda: PackageRow(name="P", duration_days=1, max_connections=1, allowed_outputs=["ts"], credit_cost=-1),
        _line_owned_by_nobody,
        _session_of_nobody,
    ],
    ids=["ck-username", "ck-role", "ck-credits", "ck-credit-cost", "fk-line-owner", "fk-session-admin"],
)
async def test_database_constraints_hold(db: Database, make: Callable[[], Base]) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(make())


async def test_every_role_fits_the_check(db: Database) -> None:
    async with db.write() as session:
        session.add_all(_admin(username=role.value, role=role.value) for role in Role)
    async with db.session() as session:
        assert len((await session.scalars(select(AdminRow))).all()) == len(Role)


async def test_owner_and_credit_cost_in_the_subscriber_store(db: Database, subscribers: SubscriberStore) -> None:
    async with db.write() as session:
        seller = _admin(role="reseller")
        session.add(seller)
    package = await subscribers.create_package(PackageInput(name="Basic", credit_cost=0))
    assert package.credit_cost == 0
    assert (await subscribers.update_package(package.id, PackagePatch(credit_cost=4))).credit_cost == 4
    with pytest.raises(ValidationError):
        PackageInput(name="X", credit_cost=-1)
    with pytest.raises(ValidationError):
        LineInput(username="x", owner_id=0)
    with pytest.raises(ValidationError) as info:
        await subscribers.create_line(LineInput(username="ghost", owner_id=999))
    assert info.value.field == "owner_id"
    line, _ = await subscribers.create_line(LineInput(username="alice"))
    assert line.owner_id is None
    moved = await subscribers.update_line(line.id, LinePatch(owner_id=seller.id))
    assert moved.owner_id == seller.id
    assert [x.username for x in await subscribers.list_lines(owner_id=seller.id)] == ["alice"]
    assert (await subscribers.update_line(line.id, LinePatch(owner_id=None))).owner_id is None
    assert await subscribers.list_lines(owner_id=seller.id) == []
    with pytest.raises(ValidationError):
        await subscribers.update_line(line.id, LinePatch(owner_id=999))
