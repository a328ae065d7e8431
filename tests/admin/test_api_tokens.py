"""API tokens: shown once, stored as SHA-256 with a display prefix, revocable, dead with their account."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from headend.admin.accounts import AdminAccounts
from headend.admin.api_tokens import ApiTokens
from headend.admin.principal import Principal, Role
from headend.catalog.admin_models import ApiTokenRow
from headend.catalog.db import Database
from headend.errors import NotFound, ValidationError
from tests.admin.fixtures import make_account
from tests.catalog.conftest import FakeNow


async def test_token_is_shown_once_and_stored_hashed(
    accounts: AdminAccounts, api_tokens: ApiTokens, db: Database, fake_now: FakeNow
) -> None:
    alice = await make_account(accounts, "alice")
    record, token = await api_tokens.create(alice.id, "CI deploys")
    assert re.fullmatch(r"hdk_[A-Za-z0-9_-]{40}", token)
    assert (record.admin_id, record.name, record.prefix, record.created_at) == (
        alice.id,
        "CI deploys",
        token[:8],
        fake_now.value,
    )
    assert record.last_used_at is None
    async with db.session() as session:
        (row,) = (await session.scalars(select(ApiTokenRow))).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.prefix, row.name)
    assert token not in repr(await api_tokens.list())
    _, second = await api_tokens.create(alice.id, "other")
    assert second != token


async def test_resolve_and_revoke(accounts: AdminAccounts, api_tokens: ApiTokens, fake_now: FakeNow) -> None:
    ops = await make_account(accounts, "ops", Role.OPERATOR)
    record, token = await api_tokens.create(ops.id, "script")
    assert await api_tokens.resolve(token) == Principal(account_id=ops.id, username="ops", role=Role.OPERATOR,
                                                        via="token")  # fmt: skip
    assert (await api_tokens.list(ops.id))[0].last_used_at == fake_now.value
    for bad in ("", token[:-1], token + "x", "hdk_" + "A" * 40, token.replace("hdk_", "xyz_"), "Bearer " + token):
        assert await api_tokens.resolve(bad) is None
    await api_tokens.revoke(record.id)
    assert await api_tokens.resolve(token) is None
    assert await api_tokens.list() == []
    with pytest.raises(NotFound):
        await api_tokens.revoke(record.id)


async def test_disabled_and_deleted_accounts_tokens_stop(accounts: AdminAccounts, api_tokens: ApiTokens) -> None:
    await make_account(accounts, "root")
    seller = await make_account(accounts, "shop", Role.RESELLER)
    _, token = await api_tokens.create(seller.id, "pos")
    await accounts.update(seller.id, enabled=False)
    assert await api_tokens.resolve(token) is None
    await accounts.update(seller.id, enabled=True)
    assert await api_tokens.resolve(token) is not None
    await accounts.delete(seller.id)
    assert await api_tokens.resolve(token) is None
    assert await api_tokens.list() == []


async def test_list_by_account_and_input_checks(accounts: AdminAccounts, api_tokens: ApiTokens) -> None:
    alice = await make_account(accounts, "alice")
    bob = await make_account(accounts, "bob")
    await api_tokens.create(alice.id, "a")
    await api_tokens.create(bob.id, "b")
    assert [t.name for t in await api_tokens.list(bob.id)] == ["b"]
    assert [t.name for t in await api_tokens.list()] == ["a", "b"]
    with pytest.raises(ValidationError):
        await api_tokens.create(alice.id, "")
    with pytest.raises(ValidationError):
        await api_tokens.create(alice.id, "x" * 101)
    with pytest.raises(NotFound):
        await api_tokens.create(999, "ghost")


async def test_last_used_is_written_at_most_once_a_minute(
    accounts: AdminAccounts, api_tokens: ApiTokens, db: Database, fake_now: FakeNow
) -> None:
    _, token = await api_tokens.create((await make_account(accounts, "alice")).id, "t")
    await api_tokens.resolve(token)
    writes = db.writes
    fake_now.advance(seconds=59)
    await api_tokens.resolve(token)
    assert db.writes == writes
    fake_now.advance(seconds=1)
    await api_tokens.resolve(token)
    assert db.writes == writes + 1
    assert (await api_tokens.list())[0].last_used_at == fake_now.value
