"""Admin web sessions: hashed at rest, lifetime and idle timeout (injected clock), ended by logout,
password change or a disabled/deleted account; the principal follows the account's current role."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from headend.admin.accounts import AdminAccounts
from headend.admin.principal import Role
from headend.admin.sessions import AdminSessions
from headend.catalog.admin_models import AdminSessionRow
from headend.catalog.db import Database
from headend.settings import AdminSettings
from tests.admin.fixtures import make_account
from tests.catalog.conftest import FakeNow


async def _rows(db: Database) -> list[AdminSessionRow]:
    async with db.session() as session:
        return list((await session.scalars(select(AdminSessionRow))).all())


async def test_create_and_resolve(accounts: AdminAccounts, admin_sessions: AdminSessions, db: Database) -> None:
    alice = await make_account(accounts, "alice")
    cookie, principal = await admin_sessions.create(alice, ip="192.0.2.1", user_agent="Firefox\x00/1")
    assert len(cookie) >= 43
    assert (principal.account_id, principal.username, principal.role, principal.via) == (
        alice.id,
        "alice",
        Role.ADMIN,
        "session",
    )
    assert principal.session_id
    assert len(principal.csrf_token) >= 32
    assert await admin_sessions.resolve(cookie) == principal
    (row,) = await _rows(db)
    assert row.token_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert cookie not in (row.id, row.token_hash, row.csrf_token)
    assert (row.ip, row.user_agent) == ("192.0.2.1", "Firefox?/1")
    other, _ = await admin_sessions.create(alice, ip="", user_agent="")
    assert other != cookie


async def test_unknown_and_malformed_cookies(accounts: AdminAccounts, admin_sessions: AdminSessions) -> None:
    cookie, _ = await admin_sessions.create(await make_account(accounts, "alice"), ip="", user_agent="")
    for value in ("", "x", cookie[:-1], cookie + "x", "y" * 5000, hashlib.sha256(cookie.encode()).hexdigest()):
        assert await admin_sessions.resolve(value) is None


async def test_lifetime_ends_a_busy_session(db: Database, accounts: AdminAccounts, fake_now: FakeNow) -> None:
    sessions = AdminSessions(db, AdminSettings(session_hours=2.0, session_idle_minutes=30.0), now=fake_now)
    cookie, _ = await sessions.create(await make_account(accounts, "alice"), ip="", user_agent="")
    for _ in range(7):  # used every 17 minutes: never idle
        fake_now.advance(minutes=17)
        assert await sessions.resolve(cookie) is not None
    fake_now.advance(minutes=1)  # 2 h after creation
    assert await sessions.resolve(cookie) is None
    assert await _rows(db) == [], "an ended session is removed"


async def test_idle_timeout(db: Database, accounts: AdminAccounts, fake_now: FakeNow) -> None:
    sessions = AdminSessions(db, AdminSettings(session_hours=12.0, session_idle_minutes=30.0), now=fake_now)
    cookie, _ = await sessions.create(await make_account(accounts, "alice"), ip="", user_agent="")
    fake_now.advance(minutes=29, seconds=59)
    assert await sessions.resolve(cookie) is not None  # use moves the idle deadline
    fake_now.advance(minutes=29, seconds=59)
    assert await sessions.resolve(cookie) is not None
    fake_now.advance(minutes=30)
    assert await sessions.resolve(cookie) is None


async def test_background_requests_do_not_keep_a_session_alive(
    db: Database, accounts: AdminAccounts, fake_now: FakeNow
) -> None:
    sessions = AdminSessions(db, AdminSettings(session_hours=12.0, session_idle_minutes=30.0), now=fake_now)
    cookie, _ = await sessions.create(await make_account(accounts, "alice"), ip="", user_agent="")
    for _ in range(14):  # a dashboard left open polls every 2 s; here every 2 minutes for 28 minutes
        fake_now.advance(minutes=2)
        assert await sessions.resolve(cookie, activity=False) is not None
    fake_now.advance(minutes=2)  # 30 minutes since the admin last did anything
    assert await sessions.resolve(cookie, activity=False) is None


async def test_last_used_is_written_at_most_once_a_minute(
    accounts: AdminAccounts, admin_sessions: AdminSessions, db: Database, fake_now: FakeNow
) -> None:
    cookie, _ = await admin_sessions.create(await make_account(accounts, "alice"), ip="", user_agent="")
    created = fake_now.value
    writes = db.writes
    fake_now.advance(seconds=30)
    await admin_sessions.resolve(cookie)
    assert db.writes == writes
    assert (await _rows(db))[0].last_used_at == created
    fake_now.advance(seconds=31)
    await admin_sessions.resolve(cookie)
    assert db.writes == writes + 1
    assert (await _rows(db))[0].last_used_at == fake_now.value


async def test_disabled_or_deleted_accounts_lose_their_sessions(
    accounts: AdminAccounts, admin_sessions: AdminSessions, db: Database
) -> None:
    await make_account(accounts, "root")
    alice = await make_account(accounts, "alice", Role.OPERATOR)
    cookie, _ = await admin_sessions.create(alice, ip="", user_agent="")
    await accounts.update(alice.id, enabled=False)
    assert await admin_sessions.resolve(cookie) is None
    await accounts.update(alice.id, enabled=True)
    changed = await admin_sessions.resolve(cookie)
    assert changed is not None
    await accounts.update(alice.id, role=Role.SUPPORT)
    demoted = await admin_sessions.resolve(cookie)
    assert demoted is not None
    assert demoted.role is Role.SUPPORT, "a role change applies to open sessions at once"
    await accounts.delete(alice.id)
    assert await admin_sessions.resolve(cookie) is None
    assert await _rows(db) == []


async def test_logout_and_end_for_account(accounts: AdminAccounts, admin_sessions: AdminSessions) -> None:
    alice = await make_account(accounts, "alice")
    bob = await make_account(accounts, "bob")
    first, principal = await admin_sessions.create(alice, ip="", user_agent="")
    second, _ = await admin_sessions.create(alice, ip="", user_agent="")
    bobs, _ = await admin_sessions.create(bob, ip="", user_agent="")
    await admin_sessions.end(principal.session_id)
    assert await admin_sessions.resolve(first) is None
    assert await admin_sessions.resolve(second) is not None
    await admin_sessions.end("no-such-session")
    await admin_sessions.end_for_account(alice.id)
    assert await admin_sessions.resolve(second) is None
    assert await admin_sessions.resolve(bobs) is not None


async def test_stale_sessions_are_purged_on_login(
    accounts: AdminAccounts, admin_sessions: AdminSessions, db: Database, fake_now: FakeNow
) -> None:
    alice = await make_account(accounts, "alice")
    for _ in range(3):
        await admin_sessions.create(alice, ip="", user_agent="")
    fake_now.advance(hours=13)
    await admin_sessions.create(alice, ip="", user_agent="")
    assert len(await _rows(db)) == 1
