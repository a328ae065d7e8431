"""Alembic environment for the catalog.

Migrations run through :meth:`headend.catalog.db.Database.migrate`, which opens the transaction and passes
its connection in ``config.attributes["connection"]``; there is no ``alembic.ini`` and no URL here.
``render_as_batch`` is on for SQLite, whose ``ALTER TABLE`` cannot change or drop most things (reliability.md
§3.7). Offline (``--sql``) mode renders the DDL for ``config.attributes["dialect"]`` (default postgresql).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import headend.catalog.admin_models  # registers the admin tables on Base.metadata
import headend.catalog.epg_models  # registers the EPG tables on Base.metadata
import headend.catalog.subscriber_models  # noqa: F401 - registers the subscriber tables on Base.metadata
from headend.catalog.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    dialect = str(config.attributes.get("dialect", "postgresql"))
    context.configure(
        dialect_name=dialect,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=dialect == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through headend.catalog.db.Database.migrate(), not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
