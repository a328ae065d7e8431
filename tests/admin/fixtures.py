"""Admin fixtures and helpers: a cheap argon2 hasher and the admin services on one migrated database (the
catalog's ``db`` fixture: SQLite and PostgreSQL) with an injected wall clock. Registered by conftest.py."""

from __future__ import annotations

import pytest

from headend.admin.accounts import AdminAccounts
from headend.admin.api_tokens import ApiTokens
from headend.admin.audit import AuditLog
from headend.admin.passwords import AdminPasswordHasher
from headend.admin.principal import Principal, Role
from headend.admin.records import AdminAccount, AdminInput
from headend.admin.resellers import Resellers
from headend.admin.sessions import AdminSessions
from headend.catalog.db import Database
from headend.catalog.subscribers import SubscriberStore
from headend.settings import AdminSettings
from tests.catalog.conftest import FakeNow

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_hasher() -> AdminPasswordHasher:
    """argon2id with test-sized costs (the production parameters have a test of their own)."""
    return AdminPasswordHasher(memory_cost=1024, time_cost=1)


@pytest.fixture
def accounts(db: Database, admin_hasher: AdminPasswordHasher, fake_now: FakeNow) -> AdminAccounts:
    return AdminAccounts(db, admin_hasher, now=fake_now)


@pytest.fixture
def admin_sessions(db: Database, fake_now: FakeNow) -> AdminSessions:
    return AdminSessions(db, AdminSettings(session_hours=12.0, session_idle_minutes=60.0), now=fake_now)


@pytest.fixture
def api_tokens(db: Database, fake_now: FakeNow) -> ApiTokens:
    return ApiTokens(db, now=fake_now)


@pytest.fixture
def audit(db: Database, fake_now: FakeNow) -> AuditLog:
    return AuditLog(db, now=fake_now)


@pytest.fixture
def resellers(accounts: AdminAccounts, subscribers: SubscriberStore) -> Resellers:
    return Resellers(accounts, subscribers)


async def make_account(
    accounts: AdminAccounts, username: str, role: Role = Role.ADMIN, **values: object
) -> AdminAccount:
    account, _ = await accounts.create(AdminInput(username=username, role=role, password=PASSWORD, **values))  # type: ignore[arg-type]
    return account


def principal_of(account: AdminAccount) -> Principal:
    return Principal(account_id=account.id, username=account.username, role=account.role, via="token")
