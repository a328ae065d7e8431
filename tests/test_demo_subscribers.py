"""The demo's subscriber set-up: one bouquet, one package, one ``demo`` line with a stable password that
logs in, repaired on the next run if changed, and announced in the banner with the Xtream URLs."""

from __future__ import annotations

from pathlib import Path

from headend import settings as settings_mod
from headend.admin.accounts import AdminAccounts
from headend.admin.passwords import AdminPasswordHasher
from headend.auth.lines import LineAuthenticator
from headend.auth.passwords import PasswordHasher
from headend.auth.secret import load_secret
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.records import ChannelInput
from headend.catalog.subscribers import PASSWORD_ALPHABET, SubscriberStore
from headend.demo import (
    DEMO_USERNAME,
    _banner,
    demo_admin_password,
    demo_password,
    demo_settings,
    ensure_admin,
    ensure_subscribers,
)
from headend.types import ChannelId


async def test_demo_line_is_created_once_and_repaired(tmp_path: Path) -> None:
    settings = settings_mod.replace(settings_mod.load(env={}), paths={"data_dir": tmp_path / "data"})
    secret = load_secret(settings)
    password = demo_password(secret)
    assert password == demo_password(load_secret(settings))  # stable across runs
    assert len(password) == 12
    assert set(password) <= set(PASSWORD_ALPHABET)
    assert demo_password(b"another installation") != password
    hasher = PasswordHasher(secret)
    db = Database(settings.database_url)
    await db.start()
    try:
        await db.migrate()
        ids = [(await ChannelStore(db).create_channel(ChannelInput(name=f"Demo {i}"))).id for i in range(4)]
        store = SubscriberStore(db, hasher)
        await ensure_subscribers(store, hasher, ids, password)
        await ensure_subscribers(store, hasher, ids, password)  # idempotent
        assert [b.channel_ids for b in await store.list_bouquets()] == [tuple(ids)]
        package = (await store.list_packages())[0]
        assert (package.name, package.duration_days, package.max_connections) == ("Demo package", 30, 2)
        assert package.allowed_outputs == ("ts", "m3u8")
        (line,) = await store.list_lines()
        await store.ban(line.id, "x")
        await store.reset_password(line.id)
        await ensure_subscribers(store, hasher, ids, password)  # a later demo run puts it back
        auth = LineAuthenticator(store, hasher, settings.subscribers)
        found = await auth.authenticate(DEMO_USERNAME, password)
        assert found.entitlement.channel_ids == tuple(ids)
        assert found.line.max_connections == 2
    finally:
        await db.aclose()


def test_banner_shows_the_xtream_login(tmp_path: Path) -> None:
    base = settings_mod.replace(settings_mod.load(env={}), http={"port": 8123})
    settings = demo_settings(base, explicit_data_dir=True)
    banner = _banner(settings, [ChannelId(i) for i in range(1, 5)], "Pw3xAmPLe7kQ", "AdminPw3xAmPLe7kQ1234")
    assert "Admin panel: http://127.0.0.1:8123/admin" in banner
    assert "password  AdminPw3xAmPLe7kQ1234" in banner
    assert "server    http://127.0.0.1:8123" in banner
    assert "username  demo" in banner
    assert "password  Pw3xAmPLe7kQ" in banner
    assert "http://127.0.0.1:8123/get.php?username=demo&password=Pw3xAmPLe7kQ&type=m3u_plus&output=ts" in banner


def test_banner_says_how_to_reset_a_changed_admin_password(tmp_path: Path) -> None:
    settings = demo_settings(settings_mod.load(env={}), explicit_data_dir=True)
    banner = _banner(settings, [ChannelId(i) for i in range(1, 5)], "Pw3xAmPLe7kQ", None)
    assert "headend admin passwd admin" in banner


async def test_demo_admin_is_created_once_with_a_per_installation_password(tmp_path: Path) -> None:
    settings = settings_mod.replace(settings_mod.load(env={}), paths={"data_dir": tmp_path / "data"})
    password = demo_admin_password(load_secret(settings))
    assert password == demo_admin_password(load_secret(settings))  # stable across runs
    assert demo_admin_password(b"another installation") != password
    db = Database(settings.database_url)
    await db.start()
    try:
        await db.migrate()
        assert await ensure_admin(db, password)  # created
        assert await ensure_admin(db, password)  # still logs in
        accounts = AdminAccounts(db, AdminPasswordHasher())
        (admin,) = await accounts.list()
        await accounts.set_password(admin.id, "changed-by-the-operator")
        assert not await ensure_admin(db, password)  # never put back: the operator's change stands
        assert (await accounts.authenticate("admin", "changed-by-the-operator")).id == admin.id
    finally:
        await db.aclose()
