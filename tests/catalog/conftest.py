"""Catalog fixtures: every database test runs twice, on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth). Each test module gets a database
``headend_t_<random>``, created through the ``test`` database and dropped afterwards; before each test its
``public`` schema is dropped and recreated, so every test starts from an empty database (a new database per
test costs ~0.15 s, this ~0.01 s). When the server cannot be reached the test fails: CI guarantees it, and
a silent skip would hide half the matrix.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from headend.auth.passwords import PasswordHasher
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.subscribers import SubscriberStore

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ASYNC = "postgresql+asyncpg://postgres@127.0.0.1:5432"
_DB_NAME = re.compile(r"headend_t_[0-9a-f]{12}")


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database for one test module (created and dropped in a loop of its own)."""
    name = f"headend_t_{secrets.token_hex(6)}"
    assert _DB_NAME.fullmatch(name)  # an identifier cannot be a bound parameter: only this shape is formatted in
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new SQLite file, or the module's PostgreSQL database (the one parametrisation of all tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'headend.db'}"
    name: str = request.getfixturevalue("pg_database")
    return f"{PG_SERVER}/{name}"


@pytest.fixture
async def db_url(backend_url: str) -> str:
    """The URL of an empty database (PostgreSQL: the module's database, wiped clean)."""
    if backend_url.startswith("postgresql"):
        await _admin_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public", database=backend_url.rsplit("/", 1)[1])
    return backend_url


async def _admin_execute(statements: str, *, database: str = "test") -> None:
    admin = create_async_engine(f"{PG_ASYNC}/{database}", isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        async with admin.connect() as conn:
            for statement in statements.split(";"):
                await conn.execute(text(statement))
    except (OSError, SQLAlchemyError) as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required for the catalog tests: {exc}")
    finally:
        await admin.dispose()


@pytest.fixture
async def empty_db(db_url: str) -> AsyncIterator[Database]:
    """A started Database whose schema has not been created."""
    db = Database(db_url)
    await db.start()
    try:
        yield db
    finally:
        await db.aclose()


@pytest.fixture
async def db(empty_db: Database) -> Database:
    """A started Database migrated to head."""
    await empty_db.migrate()
    return empty_db


@pytest.fixture
def store(db: Database) -> ChannelStore:
    return ChannelStore(db)


class FakeNow:
    """A settable UTC wall clock for expiry tests."""

    def __init__(self) -> None:
        self.value = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


@pytest.fixture
def fake_now() -> FakeNow:
    return FakeNow()


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(b"catalog-tests-secret-key-0123456789")


@pytest.fixture
def subscribers(db: Database, hasher: PasswordHasher, fake_now: FakeNow) -> SubscriberStore:
    return SubscriberStore(db, hasher, now=fake_now)
