"""LineAuthenticator and allows_client, on a real (SQLite) store with injected clocks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headend import settings as settings_mod
from headend.auth.lines import AuthenticatedLine, LineAuthenticator, allows_client
from headend.auth.passwords import PasswordHasher
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.records import ChannelInput
from headend.catalog.subscriber_records import Entitlement, LineInput, LineRecord, LineStatus, PackageInput
from headend.catalog.subscribers import SubscriberStore
from headend.errors import AuthFailed, LineInactive
from headend.types import ChannelId

PASSWORD = "Corr3ct-Horse"


class Clocks:
    def __init__(self) -> None:
        self.mono = 0.0
        self.wall = datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall


@dataclass
class World:
    store: SubscriberStore
    auth: LineAuthenticator
    clocks: Clocks
    hasher: PasswordHasher
    channel: ChannelId
    lookups: list[str]
    digests: list[int]


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'headend.db'}")
    await db.start()
    try:
        await db.migrate()
        clocks = Clocks()
        hasher = PasswordHasher(b"auth-tests-secret-0123456789abcdef")
        store = SubscriberStore(db, hasher, now=clocks.now)
        settings = settings_mod.replace(settings_mod.load(env={}), subscribers={"auth_cache_s": 5.0}).subscribers
        auth = LineAuthenticator(store, hasher, settings, clock=clocks.monotonic, now=clocks.now)
        channel = (await ChannelStore(db).create_channel(ChannelInput(name="News"))).id
        bouquet = await store.create_bouquet("Main", [channel])
        package = await store.create_package(PackageInput(name="Basic", bouquet_ids=(bouquet.id,)))
        await store.create_line(LineInput(username="alice", password=PASSWORD, package_ids=(package.id,), days=1))
        lookups: list[str] = []
        digests: list[int] = []
        real_find, real_digest = store.find_credentials, hasher._digest

        async def counting_find(username: str) -> Any:
            lookups.append(username)
            return await real_find(username)

        def counting_digest(salt: str, password: str) -> str:
            digests.append(1)
            return real_digest(salt, password)

        monkeypatch.setattr(store, "find_credentials", counting_find)
        monkeypatch.setattr(hasher, "_digest", counting_digest)
        yield World(store, auth, clocks, hasher, channel, lookups, digests)
    finally:
        await db.aclose()


async def test_the_right_password_gives_the_line_and_what_it_may_watch(world: World) -> None:
    line = await world.auth.authenticate("alice", PASSWORD)
    assert isinstance(line, AuthenticatedLine)
    assert (line.line.username, line.status, line.active) == ("alice", LineStatus.ACTIVE, True)
    assert line.entitlement.channel_ids == (world.channel,)
    assert line.may_watch(world.channel)
    assert not line.may_watch(world.channel + 1)
    assert line.allows_output("ts")
    assert line.id == line.line.id


async def test_unknown_user_and_wrong_password_look_the_same(world: World) -> None:
    errors = []
    for username, password in [("mallory", PASSWORD), ("alice", "Wr0ng-Password"), ("alice", "")]:
        world.lookups.clear()
        world.digests.clear()
        with pytest.raises(AuthFailed) as info:
            await world.auth.authenticate(username, password)
        errors.append(info.value.message)
        assert (len(world.lookups), len(world.digests)) == (1, 1)  # one query, one keyed hash: same work
    assert len(set(errors)) == 1


@pytest.mark.parametrize(("username", "password"), [("a" * 65, PASSWORD), ("alice", "x" * 1025)])
async def test_oversized_credentials_fail_without_a_lookup(world: World, username: str, password: str) -> None:
    with pytest.raises(AuthFailed):
        await world.auth.authenticate(username, password)
    assert world.lookups == []
    assert len(world.digests) == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [("ban", LineStatus.BANNED), ("disable", LineStatus.DISABLED), ("expire", LineStatus.EXPIRED)],
)
async def test_inactive_lines_are_refused_but_check_shows_their_status(
    world: World, change: str, status: LineStatus
) -> None:
    line = await world.store.get_line_by_username("alice")
    if change == "ban":
        await world.store.ban(line.id, "resold")
    elif change == "disable":
        await world.store.set_enabled(line.id, False)
    else:
        world.clocks.wall += timedelta(days=2)
    with pytest.raises(LineInactive) as info:
        await world.auth.authenticate("alice", PASSWORD)
    assert info.value.status == status.value
    checked = await world.auth.check("alice", PASSWORD)
    assert (checked.status, checked.active) == (status, False)
    with pytest.raises(AuthFailed):
        await world.auth.check("alice", "Wr0ng-Password")


async def test_verifications_are_cached_for_auth_cache_s(world: World) -> None:
    await world.auth.authenticate("alice", PASSWORD)
    world.clocks.mono += 4.9
    await world.auth.authenticate("alice", PASSWORD)
    assert world.lookups == ["alice"]
    with pytest.raises(AuthFailed):
        await world.auth.authenticate("alice", "Wr0ng-Password")  # another password is another key
    world.clocks.mono += 0.2
    await world.auth.authenticate("alice", PASSWORD)  # expired: served once more, refreshed in the background
    for _ in range(20):
        await asyncio.sleep(0)
    assert world.lookups == ["alice", "alice", "alice"]
    await world.auth.authenticate("alice", PASSWORD)
    assert world.lookups == ["alice", "alice", "alice"], "the refreshed entry serves again"


async def test_concurrent_misses_share_one_verification(world: World) -> None:
    """No herd: when an entry is missing or too old, simultaneous requests wait for one verification."""
    results = await asyncio.gather(*(world.auth.authenticate("alice", PASSWORD) for _ in range(16)))
    assert {r.id for r in results} == {results[0].id}
    assert world.lookups == ["alice"]
    world.clocks.mono += 11  # past twice the TTL: too old to serve, everyone waits for one fresh check
    await asyncio.gather(*(world.auth.authenticate("alice", PASSWORD) for _ in range(16)))
    assert world.lookups == ["alice", "alice"]


async def test_a_refresh_that_fails_drops_the_entry(world: World) -> None:
    await world.auth.authenticate("alice", PASSWORD)
    line = await world.store.get_line_by_username("alice")
    await world.store.reset_password(line.id, "N3w-Password")
    world.auth.invalidate()
    with pytest.raises(AuthFailed):
        await world.auth.authenticate("alice", PASSWORD)


async def test_a_store_change_or_invalidate_drops_the_cache(world: World) -> None:
    line = await world.auth.authenticate("alice", PASSWORD)
    await world.store.ban(line.id, "x")
    with pytest.raises(LineInactive):
        await world.auth.authenticate("alice", PASSWORD)
    await world.store.unban(line.id)
    await world.auth.authenticate("alice", PASSWORD)
    world.auth.invalidate()
    await world.auth.authenticate("alice", PASSWORD)
    assert len(world.lookups) == 4
    new_password = await world.store.reset_password(line.id)
    with pytest.raises(AuthFailed):
        await world.auth.authenticate("alice", PASSWORD)
    assert (await world.auth.authenticate("alice", new_password)).active


async def test_a_cached_line_still_expires_on_time(world: World) -> None:
    line = await world.auth.authenticate("alice", PASSWORD)
    assert line.line.exp_at is not None
    world.clocks.wall = line.line.exp_at
    with pytest.raises(LineInactive, match="expired"):
        await world.auth.authenticate("alice", PASSWORD)
    assert world.lookups == ["alice"]  # from the cache


async def test_a_zero_ttl_disables_the_cache(world: World) -> None:
    settings = settings_mod.replace(settings_mod.load(env={}), subscribers={"auth_cache_s": 0.0}).subscribers
    auth = LineAuthenticator(world.store, world.hasher, settings, clock=world.clocks.monotonic, now=world.clocks.now)
    await auth.authenticate("alice", PASSWORD)
    await auth.authenticate("alice", PASSWORD)
    assert world.lookups == ["alice", "alice"]


async def test_last_seen_is_recorded(world: World) -> None:
    line = await world.auth.authenticate("alice", PASSWORD)
    await world.store.flush_last_seen()
    assert (await world.store.get_line(line.id)).last_seen_at == world.clocks.wall


async def test_nothing_secret_is_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthFailed):
        await world.auth.authenticate("alice", "Wr0ng-Password")
    await world.auth.authenticate("alice", PASSWORD)
    line = await world.store.get_line_by_username("alice")
    await world.store.set_enabled(line.id, False)
    with pytest.raises(LineInactive):
        await world.auth.authenticate("alice", PASSWORD)
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (PASSWORD, "Wr0ng-Password"):
        assert secret not in text


# -- allows_client --------------------------------------------------------------------------------------


def _line(ips: tuple[str, ...] = (), agents: tuple[str, ...] = ()) -> LineRecord:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return LineRecord(
        id=1, username="alice", exp_at=None, enabled=True, banned=False, ban_reason="", is_trial=False,
        max_connections=1, allowed_outputs=("ts",), allowed_ips=ips, allowed_user_agents=agents, notes="",
        created_at=now, last_seen_at=None, package_ids=(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ips", "agents", "ip", "user_agent", "allowed"),
    [
        ((), (), "203.0.113.5", "anything", True),
        ((), (), "not an ip", "", True),
        (("192.0.2.0/24",), (), "192.0.2.77", "", True),
        (("192.0.2.0/24",), (), "192.0.3.1", "", False),
        (("192.0.2.9",), (), "192.0.2.9", "", True),
        (("192.0.2.0/24",), (), "::ffff:192.0.2.4", "", True),  # IPv4-mapped IPv6
        (("2001:db8::/32",), (), "2001:db8:1::5", "", True),
        (("2001:db8::/32",), (), "[2001:db8::1]", "", True),
        (("2001:db8::/32",), (), "192.0.2.1", "", False),
        (("192.0.2.0/24",), (), "garbage", "", False),
        (("192.0.2.0/24",), (), "", "", False),
        ((), ("TiviMate", "VLC"), "192.0.2.1", "Mozilla/5.0 vlc/3.0.20", True),  # case-insensitive
        ((), ("TiviMate",), "192.0.2.1", "IPTVSmarters", False),
        ((), ("TiviMate",), "192.0.2.1", "", False),
        (("192.0.2.0/24",), ("VLC",), "192.0.2.1", "VLC", True),
        (("192.0.2.0/24",), ("VLC",), "198.51.100.1", "VLC", False),
    ],
)
def test_allows_client(ips: tuple[str, ...], agents: tuple[str, ...], ip: str, user_agent: str, allowed: bool) -> None:
    line = _line(ips, agents)
    assert allows_client(line, ip, user_agent) is allowed
    wrapped = AuthenticatedLine(line, Entitlement(line_id=1, channel_ids=(), key="k"), LineStatus.ACTIVE)
    assert allows_client(wrapped, ip, user_agent) is allowed


async def test_the_cache_is_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from headend.auth import lines as lines_mod

    monkeypatch.setattr(lines_mod, "CACHE_MAX_ENTRIES", 4)
    names = [f"user{i}" for i in range(6)]
    for name in names:
        await world.store.create_line(LineInput(username=name, password=PASSWORD))
    world.auth.invalidate()
    for name in names:
        await world.auth.authenticate(name, PASSWORD)
    assert len(world.auth._cache) <= 4
    world.lookups.clear()
    await world.auth.authenticate(names[-1], PASSWORD)  # the newest entries are kept
    assert world.lookups == []
