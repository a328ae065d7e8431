"""SubscriberStore, lines: create with package defaults, passwords, renew, ban, enable, patch, list, delete,
last-seen batching, catalog version, hostile input. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from headend.auth.passwords import PasswordHasher
from headend.catalog.subscriber_records import LineInput, LinePatch, LineStatus, PackageInput
from headend.catalog.subscribers import PASSWORD_ALPHABET, SubscriberStore
from headend.errors import Conflict, NotFound, ValidationError
from tests.catalog.conftest import FakeNow


async def _packages(subscribers: SubscriberStore) -> tuple[int, int]:
    basic = await subscribers.create_package(
        PackageInput(name="Basic", duration_days=30, max_connections=1, allowed_outputs=("ts",))
    )
    sport = await subscribers.create_package(
        PackageInput(name="Sport", duration_days=90, max_connections=3, allowed_outputs=("m3u8",), is_trial=True)
    )
    return basic.id, sport.id


async def test_create_generates_a_password_once_and_stores_only_its_hash(
    subscribers: SubscriberStore, hasher: PasswordHasher
) -> None:
    line, password = await subscribers.create_line(LineInput(username="alice"))
    assert len(password) == 12
    assert set(password) <= set(PASSWORD_ALPHABET)
    found = await subscribers.find_credentials("alice")
    assert found is not None
    record, stored = found
    assert record == line
    assert password not in stored
    assert hasher.verify(password, stored)
    assert "password" not in repr(line).lower()


async def test_create_without_packages_uses_plain_defaults(subscribers: SubscriberStore, fake_now: FakeNow) -> None:
    line, _ = await subscribers.create_line(LineInput(username="alice", notes="front desk"))
    assert (line.exp_at, line.max_connections, line.allowed_outputs, line.is_trial) == (None, 1, ("ts", "m3u8"), False)
    assert (line.enabled, line.banned, line.package_ids, line.notes) == (True, False, (), "front desk")
    assert line.created_at == fake_now.value
    assert line.last_seen_at is None
    assert line.status(fake_now.value) is LineStatus.ACTIVE


async def test_create_takes_its_defaults_from_the_packages(subscribers: SubscriberStore, fake_now: FakeNow) -> None:
    basic, sport = await _packages(subscribers)
    line, _ = await subscribers.create_line(LineInput(username="bob", package_ids=(sport, basic)))
    assert line.package_ids == (sport, basic)
    assert line.exp_at == fake_now.value + timedelta(days=90)
    assert (line.max_connections, line.allowed_outputs, line.is_trial) == (3, ("ts", "m3u8"), True)


async def test_explicit_settings_win_over_the_packages(subscribers: SubscriberStore, fake_now: FakeNow) -> None:
    basic, _ = await _packages(subscribers)
    line, password = await subscribers.create_line(
        LineInput(username="carol", password="Given-Passw0rd", package_ids=(basic,), days=7, max_connections=2,
                  allowed_outputs=("m3u8",), is_trial=False, allowed_ips=("192.0.2.0/24",),
                  allowed_user_agents=("VLC",))
    )  # fmt: skip
    assert password == "Given-Passw0rd"
    assert line.exp_at == fake_now.value + timedelta(days=7)
    assert (line.max_connections, line.allowed_outputs, line.is_trial) == (2, ("m3u8",), False)
    assert (line.allowed_ips, line.allowed_user_agents) == (("192.0.2.0/24",), ("VLC",))
    explicit, _ = await subscribers.create_line(LineInput(username="dave", exp_at=fake_now.value + timedelta(hours=1)))
    assert explicit.exp_at == fake_now.value + timedelta(hours=1)


async def test_duplicate_username_and_unknown_package_are_refused(subscribers: SubscriberStore) -> None:
    await subscribers.create_line(LineInput(username="alice"))
    with pytest.raises(Conflict, match="already exists"):
        await subscribers.create_line(LineInput(username="alice"))
    with pytest.raises(ValidationError) as info:
        await subscribers.create_line(LineInput(username="bob", package_ids=(999,)))
    assert info.value.field == "package_ids"
    assert [line.username for line in await subscribers.list_lines()] == ["alice"]


async def test_get_by_id_and_username(subscribers: SubscriberStore) -> None:
    line, _ = await subscribers.create_line(LineInput(username="alice"))
    assert await subscribers.get_line(line.id) == line
    assert await subscribers.get_line_by_username("alice") == line
    for missing in (line.id + 1, 0, -1, 2**40):
        with pytest.raises(NotFound):
            await subscribers.get_line(missing)
    with pytest.raises(NotFound):
        await subscribers.get_line_by_username("nobody")


@pytest.mark.parametrize("username", ["nobody", "", "x" * 65, "'; DROP TABLE lines; --", "ALICE", "alice "])
async def test_find_credentials_of_unknown_names_is_none(subscribers: SubscriberStore, username: str) -> None:
    await subscribers.create_line(LineInput(username="alice"))
    assert await subscribers.find_credentials(username) is None


async def test_renew_extends_from_the_later_of_now_and_the_expiry(
    subscribers: SubscriberStore, fake_now: FakeNow
) -> None:
    basic, sport = await _packages(subscribers)
    line, _ = await subscribers.create_line(LineInput(username="alice", package_ids=(basic,)))
    start = fake_now.value
    renewed = await subscribers.renew(line.id)  # the line's own package: 30 days more
    assert renewed.exp_at == start + timedelta(days=60)
    fake_now.advance(days=100)  # expired meanwhile: renewal counts from now
    assert renewed.status(fake_now.value) is LineStatus.EXPIRED
    renewed = await subscribers.renew(line.id, days=10)
    assert renewed.exp_at == fake_now.value + timedelta(days=10)
    renewed = await subscribers.renew(line.id, package_id=sport)  # 90 days, and the line now holds Sport
    assert renewed.exp_at == fake_now.value + timedelta(days=100)
    assert renewed.package_ids == (basic, sport)


async def test_renew_errors(subscribers: SubscriberStore) -> None:
    basic, _ = await _packages(subscribers)
    bare, _ = await subscribers.create_line(LineInput(username="bare", days=5))
    with pytest.raises(ValidationError, match="no package"):
        await subscribers.renew(bare.id)
    with pytest.raises(ValidationError):
        await subscribers.renew(bare.id, days=1, package_id=basic)
    with pytest.raises(ValidationError):
        await subscribers.renew(bare.id, days=0)
    with pytest.raises(ValidationError) as info:
        await subscribers.renew(bare.id, package_id=999)
    assert info.value.field == "package_id"
    with pytest.raises(NotFound):
        await subscribers.renew(999, days=1)
    forever, _ = await subscribers.create_line(LineInput(username="forever"))
    assert (await subscribers.renew(forever.id, days=30)).exp_at is None  # never-expiring stays so


async def test_ban_disable_and_their_status(subscribers: SubscriberStore, fake_now: FakeNow) -> None:
    line, _ = await subscribers.create_line(LineInput(username="alice", days=1))
    banned = await subscribers.ban(line.id, "shared on a forum")
    assert (banned.banned, banned.ban_reason) == (True, "shared on a forum")
    assert banned.status(fake_now.value) is LineStatus.BANNED
    disabled = await subscribers.set_enabled(line.id, False)
    assert disabled.status(fake_now.value) is LineStatus.BANNED  # banned wins
    unbanned = await subscribers.unban(line.id)
    assert (unbanned.banned, unbanned.ban_reason) == (False, "")
    assert unbanned.status(fake_now.value) is LineStatus.DISABLED
    enabled = await subscribers.set_enabled(line.id, True)
    assert enabled.status(fake_now.value) is LineStatus.ACTIVE
    fake_now.advance(days=1)
    assert enabled.status(fake_now.value) is LineStatus.EXPIRED
    with pytest.raises(ValidationError):
        await subscribers.ban(line.id, "x" * 501)


async def test_reset_password_replaces_the_old_one(subscribers: SubscriberStore, hasher: PasswordHasher) -> None:
    line, old = await subscribers.create_line(LineInput(username="alice"))
    new = await subscribers.reset_password(line.id)
    assert new != old
    found = await subscribers.find_credentials("alice")
    assert found is not None
    assert hasher.verify(new, found[1])
    assert not hasher.verify(old, found[1])
    assert await subscribers.reset_password(line.id, "Chosen-Passw0rd") == "Chosen-Passw0rd"
    with pytest.raises(ValidationError):
        await subscribers.reset_password(line.id, "weak")
    with pytest.raises(NotFound):
        await subscribers.reset_password(999)


async def test_update_line_patch(subscribers: SubscriberStore, fake_now: FakeNow) -> None:
    line, _ = await subscribers.create_line(LineInput(username="alice", days=3))
    await subscribers.create_line(LineInput(username="bob"))
    assert await subscribers.update_line(line.id, LinePatch()) == line
    patched = await subscribers.update_line(
        line.id,
        LinePatch(username="alice2", exp_at=None, max_connections=4, allowed_outputs=("m3u8",), is_trial=True,
                  allowed_ips=("::1",), allowed_user_agents=("Kodi",), notes="moved"),
    )  # fmt: skip
    assert (patched.username, patched.exp_at, patched.max_connections, patched.allowed_outputs) == (
        "alice2", None, 4, ("m3u8",)
    )  # fmt: skip
    assert (patched.is_trial, patched.allowed_ips, patched.allowed_user_agents, patched.notes) == (
        True, ("::1",), ("Kodi",), "moved"
    )  # fmt: skip
    assert await subscribers.get_line(line.id) == patched
    with pytest.raises(Conflict):
        await subscribers.update_line(line.id, LinePatch(username="bob"))
    with pytest.raises(NotFound):
        await subscribers.update_line(999, LinePatch(notes="x"))


async def test_assign_packages_keeps_the_order(subscribers: SubscriberStore) -> None:
    basic, sport = await _packages(subscribers)
    line, _ = await subscribers.create_line(LineInput(username="alice", package_ids=(basic,)))
    assert (await subscribers.assign_packages(line.id, [sport, basic, sport])).package_ids == (sport, basic)
    assert (await subscribers.assign_packages(line.id, [])).package_ids == ()
    with pytest.raises(ValidationError):
        await subscribers.assign_packages(line.id, [basic, 999])
    assert (await subscribers.get_line(line.id)).package_ids == ()


async def test_list_lines_search_and_paging(subscribers: SubscriberStore) -> None:
    for name, notes in [("zoe", ""), ("adam", "hotel room 12"), ("mia_x", "100% fan"), ("bob", "ROOM 7")]:
        await subscribers.create_line(LineInput(username=name, notes=notes))
    assert [line.username for line in await subscribers.list_lines()] == ["adam", "bob", "mia_x", "zoe"]
    assert [line.username for line in await subscribers.list_lines(search="room")] == ["adam", "bob"]
    assert [line.username for line in await subscribers.list_lines(search="100%")] == ["mia_x"]
    assert [line.username for line in await subscribers.list_lines(search="_")] == ["mia_x"]
    assert [line.username for line in await subscribers.list_lines(limit=2, offset=1)] == ["bob", "mia_x"]
    with pytest.raises(ValidationError):
        await subscribers.list_lines(limit=0)


async def test_delete_line(subscribers: SubscriberStore) -> None:
    basic, _ = await _packages(subscribers)
    line, _ = await subscribers.create_line(LineInput(username="alice", package_ids=(basic,)))
    await subscribers.delete_line(line.id)
    assert await subscribers.find_credentials("alice") is None
    with pytest.raises(NotFound):
        await subscribers.delete_line(line.id)
    await subscribers.delete_package(basic)  # no longer held


async def test_every_change_bumps_the_catalog_version_and_the_generation(subscribers: SubscriberStore) -> None:
    versions = [await subscribers.catalog_version()]
    generations = [subscribers.generation]
    line, _ = await subscribers.create_line(LineInput(username="alice", days=1))
    changes: list[Callable[[], Awaitable[object]]] = [
        lambda: subscribers.ban(line.id, "x"),
        lambda: subscribers.unban(line.id),
        lambda: subscribers.set_enabled(line.id, False),
        lambda: subscribers.renew(line.id, days=1),
        lambda: subscribers.reset_password(line.id),
        lambda: subscribers.update_line(line.id, LinePatch(notes="n")),
        lambda: subscribers.assign_packages(line.id, []),
        lambda: subscribers.delete_line(line.id),
    ]
    versions.append(await subscribers.catalog_version())
    generations.append(subscribers.generation)
    for change in changes:
        await change()
        versions.append(await subscribers.catalog_version())
        generations.append(subscribers.generation)
    assert versions == sorted(set(versions))
    assert generations == list(range(len(generations)))


async def test_failed_changes_leave_the_version_alone(subscribers: SubscriberStore) -> None:
    await subscribers.create_line(LineInput(username="alice"))
    version, generation = await subscribers.catalog_version(), subscribers.generation
    with pytest.raises(Conflict):
        await subscribers.create_line(LineInput(username="alice"))
    with pytest.raises(NotFound):
        await subscribers.ban(999)
    assert (await subscribers.catalog_version(), subscribers.generation) == (version, generation)


async def test_last_seen_is_written_in_batches_without_a_version_bump(
    subscribers: SubscriberStore, fake_now: FakeNow
) -> None:
    store = subscribers
    clock = [0.0]
    batched = SubscriberStore(store._db, PasswordHasher(b"k" * 32), now=fake_now, clock=lambda: clock[0])
    line, _ = await store.create_line(LineInput(username="alice"))
    version = await store.catalog_version()
    await batched.touch_last_seen(line.id)
    assert (await store.get_line(line.id)).last_seen_at is None  # pending
    fake_now.advance(seconds=30)
    clock[0] = 61.0
    await batched.touch_last_seen(line.id)  # the interval passed: flushed with the newest time
    assert (await store.get_line(line.id)).last_seen_at == fake_now.value
    assert await store.catalog_version() == version
    await batched.touch_last_seen(12345)  # a line that does not exist (deleted meanwhile): harmless
    await batched.flush_last_seen()


async def test_hostile_text_is_stored_verbatim(subscribers: SubscriberStore) -> None:
    hostile = "'; DROP TABLE lines; -- \u0422\u0412 📺 100% _x_ \\"
    line, _ = await subscribers.create_line(LineInput(username="o.brien", notes=hostile))
    assert (await subscribers.get_line(line.id)).notes == hostile
    assert [found.id for found in await subscribers.list_lines(search="DROP TABLE")] == [line.id]
