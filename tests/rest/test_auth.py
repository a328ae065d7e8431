"""Logging in, the session cookie, CSRF, 401 versus 403, and per-IP login throttling."""

from __future__ import annotations

import httpx

from headend import settings as settings_mod
from headend.admin.sessions import COOKIE_NAME
from headend.settings import Settings
from tests.rest.env import ADMIN_PASSWORD, api_headend, audit_entries


async def _login(client: httpx.AsyncClient, username: str, password: str = ADMIN_PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_sets_a_strict_http_only_cookie_and_answers_the_csrf_token(settings: Settings) -> None:
    async with api_headend(settings) as env:
        operator = await env.account("operator")
        async with env.client() as client:
            response = await _login(client, operator.username)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["username"] == operator.username
            assert body["role"] == "operator"
            assert len(body["csrf_token"]) >= 32
            cookie = response.headers["set-cookie"]
            assert cookie.startswith(f"{COOKIE_NAME}=")
            for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
                assert attribute.lower() in cookie.lower(), cookie
            assert "secure" not in cookie.lower()  # admin.secure_cookies is off in the tests

            me = await client.get("/api/v1/auth/me")
            assert me.status_code == 200
            assert me.json() == {
                "account_id": operator.id, "username": operator.username, "role": "operator", "via": "session",
                "csrf_token": body["csrf_token"],
            }  # fmt: skip

            csrf = {"X-CSRF-Token": body["csrf_token"]}
            assert (await client.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
            assert (await client.get("/api/v1/auth/me")).status_code == 401  # the session is gone
        actions = [e["action"] for e in await audit_entries(env, actor_id=operator.id)]
        assert actions[:2] == ["logout", "login"]


async def test_secure_cookie_when_configured(settings: Settings) -> None:
    secure = settings_mod.replace(settings, admin={"secure_cookies": True})
    async with api_headend(secure) as env:
        support = await env.account("support")
        async with env.client() as client:
            response = await _login(client, support.username)
        assert response.status_code == 200
        assert "secure" in response.headers["set-cookie"].lower()


async def test_wrong_password_is_401_and_audited_without_the_password(settings: Settings) -> None:
    async with api_headend(settings) as env:
        support = await env.account("support")
        async with env.client() as client:
            wrong = await _login(client, support.username, "not-the-password-1")
            unknown = await _login(client, "nobody-here", "not-the-password-1")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()  # one answer for both
        assert wrong.headers["www-authenticate"].lower().startswith("bearer")
        failed = await audit_entries(env, action="login.failed")
        assert [e["after"]["username"] for e in failed] == ["nobody-here", support.username]
        assert all(e["actor"] == "anonymous" and e["ip"] == "127.0.0.1" for e in failed)
        assert "not-the-password-1" not in str(failed)


async def test_401_without_credentials_403_for_a_role_not_admitted(settings: Settings) -> None:
    async with api_headend(settings) as env:
        support = await env.account("support")
        async with env.client() as anonymous:
            no_creds = await anonymous.get("/api/v1/channels")
            bad_token = await anonymous.get("/api/v1/channels", headers={"Authorization": "Bearer hdk_nope"})
            basic = await anonymous.get("/api/v1/channels", auth=("someone", "password1"))
        for response in (no_creds, bad_token, basic):
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "AuthFailed"
            assert response.headers["www-authenticate"].lower().startswith("bearer")
        async with env.client(support.token) as client:
            assert (await client.get("/api/v1/channels")).status_code == 200  # support reads
            refused = await client.post("/api/v1/channels", json={"name": "Nope"})
            assert refused.status_code == 403
            assert refused.json()["error"]["type"] == "Forbidden"
            assert (await client.get("/api/v1/audit")).status_code == 403  # admins only
        assert await env.svc.channels.list_channels(search="Nope") == []


async def test_csrf_is_required_for_cookie_writes_not_for_bearer_writes(settings: Settings) -> None:
    async with api_headend(settings) as env:
        operator = await env.account("operator")
        async with env.client() as browser:
            csrf = (await _login(browser, operator.username)).json()["csrf_token"]
            missing = await browser.post("/api/v1/channels", json={"name": "Forged"})
            assert missing.status_code == 403
            assert missing.json()["error"]["message"] == "CSRF token missing or invalid"
            wrong = await browser.post("/api/v1/channels", json={"name": "Forged"}, headers={"X-CSRF-Token": "x" * 43})
            assert wrong.status_code == 403
            form = await browser.post("/api/v1/channels", data={"name": "Forged"})  # a cross-site form post
            assert form.status_code == 403
            assert await env.svc.channels.list_channels(search="Forged") == []  # nothing changed

            ok = await browser.post("/api/v1/channels", json={"name": "With token"}, headers={"X-CSRF-Token": csrf})
            assert ok.status_code == 201, ok.text
            assert (await browser.get("/api/v1/channels", params={"q": "With token"})).json()["total"] == 1

            cross = await browser.post(
                "/api/v1/channels", json={"name": "Cross"}, headers={"X-CSRF-Token": csrf, "Origin": "http://evil.test"}
            )
            assert cross.status_code == 403
            same = await browser.post(
                "/api/v1/channels",
                json={"name": "Same origin"},
                headers={"X-CSRF-Token": csrf, "Origin": env.base_url},
            )
            assert same.status_code == 201
        async with env.client(operator.token) as script:
            made = await script.post("/api/v1/channels", json={"name": "By token"})
            assert made.status_code == 201  # no CSRF token: bearer is not an ambient credential
            cross = await script.post("/api/v1/channels", json={"name": "X"}, headers={"Origin": "null"})
            assert cross.status_code == 403
        names = {c.name for c in await env.svc.channels.list_channels()}
        assert {"With token", "Same origin", "By token"} <= names
        assert not {"Forged", "Cross", "X"} & names


async def test_csrf_form_field_is_accepted(settings: Settings) -> None:
    async with api_headend(settings) as env:
        operator = await env.account("operator")
        async with env.client() as browser:
            csrf = (await _login(browser, operator.username)).json()["csrf_token"]
            # A form-encoded logout carrying the token in a field (what the web panel's forms do).
            response = await browser.post("/api/v1/auth/logout", data={"csrf_token": csrf})
            assert response.status_code == 204
            assert (await browser.get("/api/v1/auth/me")).status_code == 401


async def test_login_throttle_per_ip_with_retry_after_and_no_account_lockout(settings: Settings) -> None:
    throttled = settings_mod.replace(settings, admin={"login_attempts_per_minute": 3})
    async with api_headend(throttled) as env:
        support = await env.account("support")
        attacker = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with env.client(transport=attacker) as client:
            statuses = [(await _login(client, support.username, "guess-number-x1")).status_code for _ in range(3)]
            assert statuses == [401, 401, 401]
            blocked = await _login(client, support.username)  # even the right password: this IP waits
            assert blocked.status_code == 429
            assert 1 <= int(blocked.headers["retry-after"]) <= 60
            assert blocked.json()["error"]["type"] == "TooManyRequests"
        owner = httpx.AsyncHTTPTransport(local_address="127.0.0.3")
        async with env.client(transport=owner) as client:
            fine = await _login(client, support.username)
            assert fine.status_code == 200  # the account is not locked: another address logs in
        failed = await audit_entries(env, action="login.failed")
        assert len(failed) == 3
        assert {e["ip"] for e in failed} == {"127.0.0.2"}


async def test_bootstrap_token_acts_as_admin_only_when_configured(settings: Settings) -> None:
    async with api_headend(settings) as env:
        async with env.bootstrap() as admin:
            me = (await admin.get("/api/v1/auth/me")).json()
            assert me == {"account_id": 0, "username": "bootstrap-token", "role": "admin", "via": "bootstrap",
                          "csrf_token": ""}  # fmt: skip
            assert (await admin.get("/api/v1/audit")).status_code == 200
    closed = settings_mod.replace(settings, admin={"api_token": ""})
    async with api_headend(closed) as env, env.client("test-operator-token") as client:
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_disabled_account_loses_its_token_and_session(settings: Settings) -> None:
    async with api_headend(settings) as env:
        operator = await env.account("operator")
        async with env.client() as browser, env.client(operator.token) as script:
            await _login(browser, operator.username)
            assert (await script.get("/api/v1/auth/me")).status_code == 200
            async with env.bootstrap() as admin:
                changed = await admin.patch(f"/api/v1/admins/{operator.id}", json={"enabled": False})
                assert changed.status_code == 200, changed.text
            assert (await script.get("/api/v1/auth/me")).status_code == 401
            assert (await browser.get("/api/v1/auth/me")).status_code == 401
