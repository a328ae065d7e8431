"""The audit log: JSON before/after with secrets masked, newest first, filters, entries outlive actors."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from headend.admin.accounts import AdminAccounts
from headend.admin.audit import AuditLog, scrub
from headend.admin.principal import Principal, Role
from headend.catalog.admin_models import AuditRow
from headend.catalog.db import Database
from tests.admin.fixtures import make_account, principal_of
from tests.catalog.conftest import FakeNow


async def test_secrets_never_reach_the_log(audit: AuditLog, db: Database) -> None:
    before = {
        "username": "alice",
        "password": "hunter2-hunter2",
        "Password_Hash": "$argon2id$v=19$…",
        "nested": {"api_token": "hdk_abcdef", "items": [{"client_secret": "s3", "url": "http://u:pw@h/x"}]},
        "tokens": ["hdk_1", "hdk_2"],
        "source": "http://user:topsecret@192.0.2.1/feed.ts?token=abc",
    }
    await audit.record(None, "line.update", "line", 7, before=before, after={"password": None}, ip="192.0.2.9")
    async with db.session() as session:
        (row,) = (await session.scalars(select(AuditRow))).all()
    stored = f"{row.before}{row.after}"
    for secret in ("hunter2", "argon2id", "hdk_", "s3", "pw@", "topsecret", "abc"):
        assert secret not in stored, secret
    (entry,) = await audit.list()
    assert entry.before == {
        "username": "alice",
        "password": "***",
        "Password_Hash": "***",
        "nested": {"api_token": "***", "items": [{"client_secret": "***", "url": "http://***@h/x"}]},
        "tokens": "***",
        "source": "http://***@192.0.2.1/feed.ts?token=***",
    }
    assert entry.after == {"password": "***"}
    assert (entry.actor_id, entry.actor, entry.action, entry.object_type, entry.object_id, entry.ip) == (
        None,
        "cli",
        "line.update",
        "line",
        "7",
        "192.0.2.9",
    )


def test_values_are_plain_json() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert scrub({"at": when, "role": Role.RESELLER, "ids": (1, 2), "set": {"b", "a"}, "x": None}) == {
        "at": "2026-01-02T03:04:05+00:00",
        "role": "reseller",
        "ids": [1, 2],
        "set": ["a", "b"],
        "x": None,
    }
    assert scrub(Principal(account_id=1, username="a", role=Role.ADMIN, via="session", csrf_token="c")) == {
        "account_id": 1,
        "username": "a",
        "role": "admin",
        "via": "session",
        "session_id": "",
        "csrf_token": "***",
    }


async def test_newest_first_with_filters(audit: AuditLog, accounts: AdminAccounts, fake_now: FakeNow) -> None:
    alice = await make_account(accounts, "alice")
    bob = await make_account(accounts, "bob", Role.OPERATOR)
    first_at = fake_now.value
    await audit.record(principal_of(alice), "admin.create", "admin", bob.id, after={"username": "bob"})
    fake_now.advance(seconds=1)
    await audit.record(principal_of(bob), "line.create", "line", 1)
    fake_now.advance(seconds=1)
    await audit.record(principal_of(bob), "line.delete", "line", 1)
    await audit.record(None, "package.create", "package", "9")
    assert [e.action for e in await audit.list()] == ["package.create", "line.delete", "line.create", "admin.create"]
    assert [e.action for e in await audit.list(actor_id=bob.id)] == ["line.delete", "line.create"]
    assert [e.action for e in await audit.list(object_type="line", limit=1)] == ["line.delete"]
    assert [e.action for e in await audit.list(object_type="line", offset=1)] == ["line.create"]
    assert [e.action for e in await audit.list(action="admin.create")] == ["admin.create"]
    assert [e.action for e in await audit.list(actor="cli")] == ["package.create"]
    first = (await audit.list(action="admin.create"))[0]
    assert (first.actor, first.actor_id, first.after, first.before, first.at) == (
        "alice", alice.id, {"username": "bob"}, None, first_at,
    )  # fmt: skip


async def test_entries_outlive_their_actor(audit: AuditLog, accounts: AdminAccounts) -> None:
    await make_account(accounts, "root")
    gone = await make_account(accounts, "temp", Role.SUPPORT)
    await audit.record(principal_of(gone), "line.disable", "line", 3)
    await accounts.delete(gone.id)
    (entry,) = await audit.list()
    assert (entry.actor, entry.actor_id) == ("temp", gone.id)


async def test_bootstrap_token_and_odd_values(audit: AuditLog) -> None:
    bootstrap = Principal(account_id=0, username="bootstrap-token", role=Role.ADMIN, via="bootstrap")
    await audit.record(bootstrap, "x" * 100, "channel\n", object_id=None, after={"blob": "y" * 70_000})
    (entry,) = await audit.list()
    assert (entry.actor_id, entry.actor, entry.object_type, entry.object_id) == (
        None,
        "bootstrap-token",
        "channel?",
        "",
    )
    assert len(entry.action) == 64
    assert entry.after is not None
    assert set(entry.after) == {"_truncated"}
