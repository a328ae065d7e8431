"""Database: URL mapping, lifecycle, SQLite pragmas, transactions, single writer, clear errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from headend.catalog.db import Database, async_url, redact_url
from headend.catalog.models import CatalogState
from headend.errors import ConfigError, DatabaseError


@pytest.mark.parametrize(
    ("url", "dialect", "driver_url"),
    [
        ("sqlite:////srv/headend/headend.db", "sqlite", "sqlite+aiosqlite:////srv/headend/headend.db"),
        ("sqlite:///rel/headend.db", "sqlite", "sqlite+aiosqlite:///rel/headend.db"),
        ("postgresql://u:pw@db:5432/tv", "postgresql", "postgresql+asyncpg://u:pw@db:5432/tv"),
        ("postgres://u@db/tv", "postgresql", "postgresql+asyncpg://u@db/tv"),
        ("postgresql+asyncpg://u@db/tv", "postgresql", "postgresql+asyncpg://u@db/tv"),
    ],
)
def test_operator_urls_map_to_async_drivers(url: str, dialect: str, driver_url: str) -> None:
    got_dialect, got_url = async_url(url)
    assert (got_dialect, got_url.render_as_string(hide_password=False)) == (dialect, driver_url)


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "not a url"])
def test_unsupported_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        async_url(url)


def test_redact_url_hides_the_password() -> None:
    assert redact_url("postgresql://tv:s3cret@db/tv") == "postgresql://tv:***@db/tv"


async def test_constructor_has_no_side_effects(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'not-yet' / 'headend.db'}")
    assert not (tmp_path / "not-yet").exists()
    with pytest.raises(RuntimeError, match="start"):
        _ = db.engine
    with pytest.raises(RuntimeError, match="start"):
        async with db.session():
            pass


async def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    db = Database("postgresql://headend:hunter2@127.0.0.1:1/headend")
    with pytest.raises(DatabaseError) as info:
        await db.start()
    message = info.value.message
    assert "hunter2" not in message
    assert message.startswith("cannot connect to the database at postgresql://headend:***@127.0.0.1:1/headend")
    await db.aclose()  # never started: a no-op


async def test_a_database_that_cannot_be_opened_is_a_clear_error(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        (tmp_path / "a-file").write_text("")
        db = Database(f"sqlite:///{tmp_path / 'a-file' / 'headend.db'}")  # its directory cannot be made
    else:
        db = Database(db_url.replace("headend_t_", "headend_missing_"))
    with pytest.raises(DatabaseError, match=r"^cannot (connect to|create the directory of) "):
        await db.start()


async def test_sqlite_pragmas_are_applied_on_every_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'headend.db'}")
    await db.start()
    try:
        assert (tmp_path / "deep" / "dir").is_dir()
        async with db.session() as one, db.session() as two, db.write() as writer:
            for session in (one, two, writer):  # three pooled connections
                pragmas = [
                    (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
                    for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
                ]
                assert pragmas == ["wal", 1, 2, 5000]  # synchronous 2 = FULL
    finally:
        await db.aclose()
    wal = tmp_path / "deep" / "dir" / "headend.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated on close


async def test_start_and_aclose_are_idempotent(empty_db: Database) -> None:
    await empty_db.start()
    engine = empty_db.engine
    await empty_db.start()
    assert empty_db.engine is engine
    await empty_db.aclose()
    await empty_db.aclose()
    with pytest.raises(RuntimeError):
        _ = empty_db.engine


async def test_async_context_manager(db_url: str) -> None:
    async with Database(db_url) as db:
        assert await db.current_revision() is None
    with pytest.raises(RuntimeError):
        _ = db.engine


async def _version(db: Database) -> int:
    async with db.session() as session:
        return (await session.execute(select(CatalogState.version))).scalar_one()


async def test_write_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    async with db.write() as session:
        await session.execute(update(CatalogState).values(version=41))
    assert await _version(db) == 41

    async def fail_midway() -> None:
        async with db.write() as session:
            await session.execute(update(CatalogState).values(version=99))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await fail_midway()
    assert await _version(db) == 41


async def test_read_session_does_not_commit(db: Database) -> None:
    async with db.session() as session:
        await session.execute(update(CatalogState).values(version=7))
    assert await _version(db) == 0


async def test_concurrent_read_modify_writes_lose_nothing(db: Database) -> None:
    async def bump() -> None:
        async with db.write() as session:
            stmt = select(CatalogState.version).with_for_update()  # SQLite: the writer lock does this
            current = (await session.execute(stmt)).scalar_one()
            await asyncio.sleep(0)  # let the others try to interleave
            await session.execute(update(CatalogState).values(version=current + 1))

    await asyncio.gather(*(bump() for _ in range(25)))
    assert await _version(db) == 25  # no lost update, and on SQLite no "database is locked"


async def test_reads_run_while_a_write_is_open(db: Database) -> None:
    async with db.write() as session:
        await session.execute(update(CatalogState).values(version=5))
        assert await asyncio.wait_for(_version(db), timeout=5) == 0  # readers see the last commit
    assert await _version(db) == 5


async def test_a_lost_connection_inside_a_session_is_a_database_error(db: Database) -> None:
    async def lose_the_connection() -> None:
        async with db.session() as session:
            if db.dialect == "sqlite":
                await session.execute(text("SELECT * FROM no_such_table"))  # sqlite3: OperationalError
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with db.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.2)  # let the client see the server close the socket
            await session.execute(text("SELECT 1"))

    with pytest.raises(DatabaseError, match=r"^database "):
        await lose_the_connection()
    async with db.session() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1  # the pool recovers
