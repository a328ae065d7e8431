"""Resellers, admin accounts and API tokens over the REST API."""

from __future__ import annotations

import logging

import pytest

from headend.settings import Settings
from tests.rest.env import ADMIN_PASSWORD, api_headend, audit_entries


async def test_reseller_crud_and_credits(settings: Settings) -> None:
    async with api_headend(settings) as env:
        operator = await env.account("operator")
        async with env.client(operator.token) as api:
            package = await env.post_ok(api, "/api/v1/packages", {"name": "Basic"})
            made = await env.post_ok(
                api, "/api/v1/resellers", {"username": "shop-1", "credits": 10, "packages": [package["id"]]}
            )
            reseller, password = made["account"], made["password"]
            assert reseller["role"] == "reseller"
            assert reseller["credits"] == 10
            assert reseller["packages"] == [package["id"]]
            assert len(password) >= 12
            one = f"/api/v1/resellers/{reseller['id']}"

            more = await api.post(f"{one}/credits", json={"delta": 5})
            assert more.status_code == 200
            assert more.json()["credits"] == 15
            less = await api.post(f"{one}/credits", json={"delta": -20})
            assert less.status_code == 422
            assert less.json()["error"]["field"] == "credits"
            assert (await api.get(one)).json()["credits"] == 15
            changed = await api.patch(one, json={"notes": "north side", "packages": []})
            assert changed.status_code == 200
            assert changed.json()["packages"] == []
            sneaky = await api.patch(one, json={"role": "admin"})
            assert sneaky.status_code == 422  # operators cannot promote: not a reseller field
            weak = await api.post("/api/v1/resellers", json={"username": "shop-2", "password": "short"})
            assert weak.status_code == 422
            assert weak.json()["error"]["field"] == "password"

            assert (await api.get(f"/api/v1/resellers/{operator.id}")).status_code == 404  # not a reseller
            listing = (await api.get("/api/v1/resellers")).json()
            assert [r["username"] for r in listing["items"]] == ["shop-1"]
            assert (await api.get("/api/v1/admins")).status_code == 403  # admins only
            assert (await api.delete(one)).status_code == 204
            assert (await api.get(one)).status_code == 404
        entries = await audit_entries(env, object_type="admin")
        credits = next(e for e in entries if e["action"] == "reseller.credits")
        assert credits["before"] == {"credits": 10}
        assert credits["after"] == {"credits": 15, "delta": 5}
        assert password not in str(entries)


async def test_admin_accounts_and_passwords(settings: Settings) -> None:
    async with api_headend(settings) as env:
        admin = await env.account("admin")
        async with env.client(admin.token) as api:
            made = await env.post_ok(api, "/api/v1/admins", {"username": "helpdesk", "role": "support"})
            account = made["account"]
            one = f"/api/v1/admins/{account['id']}"
            promoted = await api.patch(one, json={"role": "operator"})
            assert promoted.status_code == 200
            assert promoted.json()["role"] == "operator"
            new = await api.post(f"{one}/password", json={})
            assert new.status_code == 200
            assert new.json()["password"] != made["password"]
            chosen = await api.post(f"{one}/password", json={"password": "a-long-enough-passphrase"})
            assert chosen.json()["password"] == "a-long-enough-passphrase"
            async with env.client() as browser:
                login = await browser.post(
                    "/api/v1/auth/login", json={"username": "helpdesk", "password": "a-long-enough-passphrase"}
                )
                assert login.status_code == 200
            roles = (await api.get("/api/v1/admins", params={"role": "operator"})).json()
            assert [a["username"] for a in roles["items"]] == ["helpdesk"]
            everyone = (await api.get("/api/v1/admins")).json()
            assert {a["username"] for a in everyone["items"]} >= {"admin", admin.username, "helpdesk"}
            assert (await api.delete(f"/api/v1/admins/{admin.id}")).status_code == 409  # not yourself
            assert (await api.delete(one)).status_code == 204
            bad_role = await api.post("/api/v1/admins", json={"username": "x", "role": "root"})
            assert bad_role.status_code == 422
            assert bad_role.json()["error"]["field"] == "role"
        entries = await audit_entries(env, object_type="admin")
        assert "a-long-enough-passphrase" not in str(entries)
        assert ADMIN_PASSWORD not in str(entries)
        assert [e["action"] for e in entries if e["object_id"] == str(account["id"])] == [
            "admin.delete", "login", "admin.password", "admin.password", "admin.update", "admin.create"
        ]  # fmt: skip


async def test_api_tokens_are_shown_once_and_scoped_to_their_owner(settings: Settings) -> None:
    async with api_headend(settings) as env:
        support = await env.account("support")
        other = await env.account("operator")
        async with env.client(support.token) as api:
            made = await api.post("/api/v1/tokens", json={"name": "script"})
            assert made.status_code == 201, made.text
            token, record = made.json()["token"], made.json()["api_token"]
            assert token.startswith(record["prefix"])
            assert record["admin_id"] == support.id
            mine = (await api.get("/api/v1/tokens")).json()
            assert {t["admin_id"] for t in mine["items"]} == {support.id}
            assert mine["total"] == 2
            assert all("token" not in t for t in mine["items"])
            theirs = (await env.svc.api_tokens.list(other.id))[0]
            assert (await api.delete(f"/api/v1/tokens/{theirs.id}")).status_code == 404
            assert (await api.post("/api/v1/tokens", json={"name": "x", "account_id": other.id})).status_code == 422
            async with env.client(token) as scripted:
                assert (await scripted.get("/api/v1/auth/me")).json()["via"] == "token"
                assert (await api.delete(f"/api/v1/tokens/{record['id']}")).status_code == 204
                assert (await scripted.get("/api/v1/auth/me")).status_code == 401  # revoked at once
        async with env.bootstrap() as admin:
            everyone = (await admin.get("/api/v1/tokens")).json()
            assert {t["admin_id"] for t in everyone["items"]} == {support.id, other.id}
            only = (await admin.get("/api/v1/tokens", params={"account_id": other.id})).json()
            assert [t["admin_id"] for t in only["items"]] == [other.id]
            orphan = await admin.post("/api/v1/tokens", json={"name": "mine"})
            assert orphan.status_code == 422
            assert orphan.json()["error"]["field"] == "account_id"
        entries = await audit_entries(env, object_type="api_token")
        assert token not in str(entries)
        assert not any(t in str(entries) for t in env.secrets)


async def test_no_password_token_or_cookie_reaches_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with api_headend(settings) as env:
        operator = await env.account("operator")
        secrets = [*env.secrets]
        async with env.client(operator.token) as api:
            package = await env.post_ok(api, "/api/v1/packages", {"name": "Basic"})
            made = await env.post_ok(api, "/api/v1/lines", {"package_id": package["id"], "password": "line-pass-77"})
            reset = (await api.post(f"/api/v1/lines/{made['line']['id']}/reset-password")).json()["password"]
            shop = await env.post_ok(api, "/api/v1/resellers", {"username": "shop", "password": "shop-password-123"})
            token = (await env.post_ok(api, "/api/v1/tokens", {"name": "ci"}))["token"]
            secrets += [made["password"], reset, shop["password"], token]
        async with env.client() as browser:
            login = await browser.post("/api/v1/auth/login", json={"username": "shop", "password": "shop-password-123"})
            assert login.status_code == 200
            # The session cookie (the CSRF token alone grants nothing, and is stored as is by design).
            secrets.append(browser.cookies["headend_admin"])
            wrong = await browser.post("/api/v1/auth/login", json={"username": "shop", "password": "guess-guess-1"})
            assert wrong.status_code == 401
            secrets.append("guess-guess-1")
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test's client
    text = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in server)
    assert len(server) > 10, "nothing was logged: the check would prove nothing"
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []
