"""Admin test fixtures: the catalog's database fixtures (every DB test runs on SQLite and on PostgreSQL)
and the admin services of ``tests.admin.fixtures``."""

from __future__ import annotations

from tests.admin.fixtures import accounts, admin_hasher, admin_sessions, api_tokens, audit, resellers
from tests.catalog.conftest import backend_url, db, db_url, empty_db, fake_now, hasher, pg_database, subscribers

__all__ = [
    "accounts",
    "admin_hasher",
    "admin_sessions",
    "api_tokens",
    "audit",
    "backend_url",
    "db",
    "db_url",
    "empty_db",
    "fake_now",
    "hasher",
    "pg_database",
    "resellers",
    "subscribers",
]
