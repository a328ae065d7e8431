"""EPG fixtures: the catalog's database fixtures (every DB test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

from tests.catalog.conftest import backend_url, db, db_url, empty_db, pg_database

__all__ = ["backend_url", "db", "db_url", "empty_db", "pg_database"]
