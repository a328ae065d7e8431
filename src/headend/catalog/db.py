"""The database handle: one async engine, SQLite (WAL, single writer) or PostgreSQL, plus migrations.

``Database(url)`` stores its arguments; :meth:`Database.start` builds the engine and checks the server
answers; :meth:`Database.aclose` releases it. Callers read through :meth:`Database.session` and write
through :meth:`Database.write`, which commits on success and rolls back on error.

SQLite specifics (reliability.md §3.7): every connection gets ``journal_mode=WAL``, ``synchronous=FULL``,
``foreign_keys=ON`` and ``busy_timeout=5000``; SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN``
(so reads are repeatable and DDL is transactional); writes take one :class:`asyncio.Lock` and start with
``BEGIN IMMEDIATE``, so there is a single writer and no "database is locked" upgrade deadlock. Reads run
in parallel.

Migrations are Alembic scripts shipped inside the package (``migrations/``), configured in code: no
``alembic.ini`` is needed at runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, InternalError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from headend.errors import ConfigError, DatabaseError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

Dialect = Literal["sqlite", "postgresql"]

_DRIVERS: Final[dict[str, tuple[Dialect, str]]] = {
    "sqlite": ("sqlite", "sqlite+aiosqlite"),
    "sqlite+aiosqlite": ("sqlite", "sqlite+aiosqlite"),
    "postgres": ("postgresql", "postgresql+asyncpg"),
    "postgresql": ("postgresql", "postgresql+asyncpg"),
    "postgresql+asyncpg": ("postgresql", "postgresql+asyncpg"),
}

_SQLITE_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)

# Execution option read by the SQLite "begin" hook: which BEGIN statement opens a transaction.
_BEGIN_OPTION: Final = "headend_sqlite_begin"
_BEGIN_STATEMENTS: Final[dict[str, str | None]] = {
    "deferred": "BEGIN",
    "immediate": "BEGIN IMMEDIATE",
    "none": None,  # no transaction at all: for PRAGMAs that are no-ops inside one
}

# Key of the PostgreSQL advisory lock held while migrating (two servers starting at once).
_MIGRATION_LOCK_KEY: Final = 0x4845_4144  # "HEAD"

# Errors that mean "the database is unreachable or broken", as opposed to constraint violations.
_CONNECTION_ERRORS: Final = (OperationalError, InterfaceError, InternalError, OSError)

CONNECT_TIMEOUT_S: Final = 10.0


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def async_url(url: str) -> tuple[Dialect, URL]:
    """Map an operator URL (``sqlite:///…``, ``postgresql://…``, ``postgres://…``) to the async driver URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL {redact_url(url)!r} is not a valid URL") from None
    if parsed.drivername not in _DRIVERS:
        raise ConfigError(
            f"database URL {redact_url(url)!r}: unsupported scheme {parsed.drivername!r} (use sqlite:/// or postgresql://)"
        )
    dialect, driver = _DRIVERS[parsed.drivername]
    if dialect == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigError("an in-memory SQLite database is not supported: give a file path (sqlite:////abs/path.db)")
    return dialect, parsed.set(drivername=driver)


def alembic_config() -> Config:
    """Alembic's configuration, built in code (the package ships no ``alembic.ini``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise DatabaseError("no database migrations found")
    return head


@dataclass(frozen=True, slots=True)
class _Engines:
    """One pool, three views of it (the views differ only in how SQLite opens a transaction)."""

    main: AsyncEngine  # reads: BEGIN (deferred)
    writer: AsyncEngine  # writes: BEGIN IMMEDIATE
    plain: AsyncEngine  # no implicit BEGIN: PRAGMAs, migrations

    @classmethod
    def of(cls, engine: AsyncEngine) -> _Engines:
        return cls(
            engine,
            engine.execution_options(**{_BEGIN_OPTION: "immediate"}),
            engine.execution_options(**{_BEGIN_OPTION: "none"}),
        )


class Database:
    """One async engine for the catalog. Build it, ``await start()``, use it, ``await aclose()``."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self._raw_url = url
        self._echo = echo
        self._engines: _Engines | None = None
        self._write_lock = asyncio.Lock()
        self.writes = 0  # committed write transactions through this object

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL with its password redacted."""
        return redact_url(self._raw_url)

    @property
    def dialect(self) -> Dialect:
        return async_url(self._raw_url)[0]

    async def start(self) -> None:
        """Create the engine and check that the database answers. Raises DatabaseError if it does not."""
        if self._engines is not None:
            return
        dialect, url = async_url(self._raw_url)
        if dialect == "sqlite":
            engine = self._sqlite_engine(url)
        else:
            engine = create_async_engine(
                url, echo=self._echo, pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT_S}
            )
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (*_CONNECTION_ERRORS, SQLAlchemyError) as exc:
            await engine.dispose()
            raise DatabaseError(f"cannot connect to the database at {self.url}: {_reason(exc)}") from None
        self._engines = _Engines.of(engine)
        logger.info("database %s ready", self.url)

    def _sqlite_engine(self, url: URL) -> AsyncEngine:
        assert url.database is not None  # checked by async_url
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the directory of {self.url}: {exc}") from None
        engine = create_async_engine(url, echo=self._echo)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine

    async def aclose(self) -> None:
        """Dispose of the engine (SQLite: checkpoint and truncate the WAL first). Safe to call twice."""
        engines, self._engines = self._engines, None
        if engines is None:
            return
        if engines.main.dialect.name == "sqlite":
            try:
                async with engines.plain.connect() as conn:
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except (*_CONNECTION_ERRORS, SQLAlchemyError) as exc:
                logger.warning("database %s: WAL checkpoint on close failed: %s", self.url, _reason(exc))
        await engines.main.dispose()

    async def __aenter__(self) -> Database:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sessions -------------------------------------------------------------------------------

    @property
    def engine(self) -> AsyncEngine:
        """The started engine (RuntimeError before :meth:`start`)."""
        return self._started().main

    def _started(self) -> _Engines:
        if self._engines is None:
            raise RuntimeError("Database.start() has not been called (or aclose() was)")
        return self._engines

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads. Anything written through it is rolled back when it closes."""
        engine = self._started().main
        with self._translate_errors():
            async with AsyncSession(engine, expire_on_commit=False) as session:
                yield session

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        On SQLite, writers queue on one lock and open with ``BEGIN IMMEDIATE``.
        """
        engine = self._started().writer
        async with self._writer():
            with self._translate_errors():
                async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                    yield session
            self.writes += 1  # committed: caches keyed on it see this process's change at once

    @contextlib.asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self._started().main.dialect.name == "sqlite":
            async with self._write_lock:
                yield
        else:
            yield

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except _CONNECTION_ERRORS as exc:
            raise DatabaseError(f"database {self.url}: {_reason(exc)}") from exc

    # -- migrations -----------------------------------------------------------------------------

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (default: the newest). Idempotent."""
        await self._run_alembic(lambda cfg: command.upgrade(cfg, revision))

    async def downgrade(self, revision: str) -> None:
        """Downgrade the schema to ``revision`` (``"base"``: drop everything). For tests and rollbacks."""
        await self._run_alembic(lambda cfg: command.downgrade(cfg, revision))

    async def current_revision(self) -> str | None:
        """The revision the database is at; None for an empty (never migrated) database."""
        engine = self._started().main
        with self._translate_errors():
            async with engine.connect() as conn:
                return await conn.run_sync(_current_revision)

    async def check_schema(self) -> None:
        """Raise DatabaseError unless the schema is at the newest revision."""
        current, head = await self.current_revision(), head_revision()
        if current != head:
            shown = current or "base (empty)"
            raise DatabaseError(f"database is at revision {shown}, expected {head}: run `headend db upgrade`")

    async def _run_alembic(self, action: Callable[[Config], None]) -> None:
        engine = self._started().plain
        async with self._writer():
            with self._translate_errors():
                async with engine.connect() as conn:
                    await conn.run_sync(_migrate_on, action)


def _migrate_on(conn: Connection, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on ``conn`` inside one transaction.

    SQLite: foreign keys are switched off for the duration (batch migrations copy and drop tables, and a
    DROP of a parent table would otherwise cascade) and checked with ``PRAGMA foreign_key_check`` before
    the commit. PostgreSQL: an advisory lock keeps two processes from migrating at once.
    """
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    if conn.dialect.name != "sqlite":
        with conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            action(cfg)
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    try:
        conn.execution_options(**{_BEGIN_OPTION: "immediate"})
        with conn.begin():
            action(cfg)
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise DatabaseError(f"migration left {len(broken)} broken foreign key reference(s); rolled back")
    finally:
        conn.execution_options(**{_BEGIN_OPTION: "none"})
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def _current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    # Take transaction control away from the sqlite3 module; _sqlite_on_begin emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    statement = _BEGIN_STATEMENTS[conn.get_execution_options().get(_BEGIN_OPTION, "deferred")]
    if statement is not None:
        conn.exec_driver_sql(statement)


def _reason(exc: BaseException) -> str:
    """A one-line cause for an error message, without SQLAlchemy's statement dump or background link."""
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


__all__ = ["MIGRATIONS_DIR", "Database", "alembic_config", "async_url", "head_revision", "redact_url"]
