"""Subscriber lines over the REST API: CRUD, role scoping (resellers see and change only their own, paying
credits), support's limited actions, and live streams ending when a line is disabled, banned or deleted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from headend.settings import Settings
from tests.rest.env import ApiEnv, api_headend, audit_entries


async def _package(env: ApiEnv, api: httpx.AsyncClient, name: str = "Basic", **extra: Any) -> dict[str, Any]:
    channels = env.channel_ids
    bouquet = await env.post_ok(api, "/api/v1/bouquets", {"name": f"{name} bouquet", "channel_ids": channels})
    return await env.post_ok(api, "/api/v1/packages", {"name": name, "bouquet_ids": [bouquet["id"]], **extra})


async def test_operator_line_crud_pagination_and_audit(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        package = await _package(env, api, max_connections=2, duration_days=10)
        made = await env.post_ok(
            api, "/api/v1/lines", {"package_id": package["id"], "username": "alice", "notes": "front desk"}
        )
        line, password = made["line"], made["password"]
        assert len(password) >= 8
        assert line["username"] == "alice"
        assert line["status"] == "Active"
        assert line["package_ids"] == [package["id"]]
        assert line["max_connections"] == 2
        assert line["owner_id"] is None
        assert "password" not in line
        one = f"/api/v1/lines/{line['id']}"

        generated = await env.post_ok(api, "/api/v1/lines", {"package_id": package["id"]})
        assert generated["line"]["username"]
        assert generated["password"]
        duplicate = await api.post("/api/v1/lines", json={"package_id": package["id"], "username": "alice"})
        assert duplicate.status_code == 409
        bad_name = await api.post("/api/v1/lines", json={"package_id": package["id"], "username": "a/b"})
        assert bad_name.status_code == 422
        assert bad_name.json()["error"]["field"] == "username"

        changed = await api.patch(
            one, json={"max_connections": 4, "allowed_ips": ["10.1.2.3/8"], "exp_at": None, "notes": "vip"}
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["max_connections"], body["allowed_ips"], body["exp_at"], body["notes"]) == (
            4, ["10.0.0.0/8"], None, "vip"
        )  # fmt: skip
        naive = await api.patch(one, json={"exp_at": "2030-01-01T00:00:00"})
        assert naive.status_code == 422  # timestamps carry a zone

        disabled = await api.post(f"{one}/disable")
        assert disabled.status_code == 200
        assert disabled.json()["status"] == "Disabled"
        assert (await api.post(f"{one}/enable")).json()["status"] == "Active"
        banned = await api.post(f"{one}/ban", json={"reason": "resold"})
        assert banned.json()["status"] == "Banned"
        assert banned.json()["ban_reason"] == "resold"
        assert (await api.post(f"{one}/unban")).json()["status"] == "Active"
        reset = await api.post(f"{one}/reset-password")
        assert reset.status_code == 200
        assert reset.json()["password"] != password

        listing = (await api.get("/api/v1/lines", params={"limit": 1})).json()
        assert listing["total"] == 2
        assert len(listing["items"]) == 1
        assert [x["username"] for x in (await api.get("/api/v1/lines", params={"q": "vip"})).json()["items"]] == [
            "alice"
        ]
        assert (await api.delete(one)).status_code == 204
        assert (await api.get(one)).status_code == 404

        entries = await audit_entries(env, object_type="line")
        actions = [e["action"] for e in entries if e["object_id"] == str(line["id"])]
        assert actions == [
            "line.delete", "line.reset_password", "line.unban", "line.ban", "line.enable", "line.disable",
            "line.update", "line.create",
        ]  # fmt: skip
        secrets = (password, reset.json()["password"], generated["password"])
        assert not any(secret in str(entries) for secret in secrets)


async def test_reseller_sees_and_changes_only_its_own_lines_and_pays_credits(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        package = await _package(env, api, credit_cost=2)
        other_package = await _package(env, api, "Premium", credit_cost=1)
        mine = await env.account("reseller", credits=5, packages=[package["id"]])
        theirs = await env.account("reseller", credits=5, packages=[package["id"]])
        house = (await env.post_ok(api, "/api/v1/lines", {"package_id": package["id"]}))["line"]

        async with env.client(mine.token) as me, env.client(theirs.token) as them:
            own = (await env.post_ok(me, "/api/v1/lines", {"package_id": package["id"], "username": "r1-line"}))["line"]
            assert own["owner_id"] == mine.id
            their_line = (await env.post_ok(them, "/api/v1/lines", {"package_id": package["id"]}))["line"]
            assert (await api.get(f"/api/v1/resellers/{mine.id}")).json()["credits"] == 3  # 5 - 2

            listing = (await me.get("/api/v1/lines")).json()
            assert [x["id"] for x in listing["items"]] == [own["id"]]
            assert listing["total"] == 1
            for line_id in (their_line["id"], house["id"]):
                path = f"/api/v1/lines/{line_id}"
                assert (await me.get(path)).status_code == 404
                assert (await me.patch(path, json={"notes": "mine now"})).status_code == 404
                assert (await me.post(f"{path}/disable")).status_code == 404
                assert (await me.post(f"{path}/renew")).status_code == 404
                assert (await me.post(f"{path}/reset-password")).status_code == 404
                assert (await me.delete(path)).status_code == 404
            assert (await api.get(f"/api/v1/lines/{their_line['id']}")).json()["notes"] == ""

            path = f"/api/v1/lines/{own['id']}"
            assert (await me.patch(path, json={"notes": "for bob"})).json()["notes"] == "for bob"
            limits = await me.patch(path, json={"max_connections": 9})
            assert limits.status_code == 403  # limits are what it sells
            assert (await me.post(f"{path}/ban", json={})).status_code == 403  # operators only
            renewed = await me.post(f"{path}/renew")
            assert renewed.status_code == 200, renewed.text
            assert renewed.json()["exp_at"] > own["exp_at"]
            assert (await api.get(f"/api/v1/resellers/{mine.id}")).json()["credits"] == 1
            broke = await me.post("/api/v1/lines", json={"package_id": package["id"]})
            assert broke.status_code == 422
            assert broke.json()["error"]["field"] == "credits"
            not_mine = await me.post("/api/v1/lines", json={"package_id": other_package["id"]})
            assert not_mine.status_code == 403
            assert (await me.delete(path)).status_code == 204
            assert (await me.get("/api/v1/lines")).json()["total"] == 0


async def test_support_reads_and_may_enable_disable_and_reset_only(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        package = await _package(env, api)
        line = (await env.post_ok(api, "/api/v1/lines", {"package_id": package["id"]}))["line"]
        support = await env.account("support")
        path = f"/api/v1/lines/{line['id']}"
        async with env.client(support.token) as client:
            assert (await client.get(path)).status_code == 200
            assert (await client.get("/api/v1/lines")).json()["total"] == 1
            assert (await client.post(f"{path}/disable")).json()["enabled"] is False
            assert (await client.post(f"{path}/enable")).json()["enabled"] is True
            assert (await client.post(f"{path}/reset-password")).status_code == 200
            for response in (
                await client.post("/api/v1/lines", json={"package_id": package["id"]}),
                await client.patch(path, json={"notes": "x"}),
                await client.delete(path),
                await client.post(f"{path}/renew"),
                await client.post(f"{path}/ban", json={}),
            ):
                assert response.status_code == 403, response.text
        entries = await audit_entries(env, actor_id=support.id)
        assert [e["action"] for e in entries] == ["line.reset_password", "line.enable", "line.disable"]
        assert entries[-1]["actor"] == support.username


async def _watch(env: ApiEnv, username: str, password: str) -> tuple[httpx.AsyncClient, httpx.Response]:
    client = env.client()
    request = client.build_request("GET", f"/live/{username}/{password}/{env.channel_ids[0]}.ts")
    response = await client.send(request, stream=True)
    assert response.status_code == 200
    return client, response


async def _ends(response: httpx.Response) -> bool:
    """True when the server closes the stream within 10 s (data meanwhile is read and dropped)."""

    async def drain() -> None:
        async for _chunk in response.aiter_raw():
            pass

    try:
        await asyncio.wait_for(drain(), 10)
    except TimeoutError:
        return False
    except httpx.HTTPError:
        return True
    return True


async def test_disabling_banning_or_deleting_a_line_ends_its_streams(settings: Settings, loop_ts: Path) -> None:
    async with api_headend(settings, [[str(loop_ts)]]) as env, env.bootstrap() as api:
        package = await _package(env, api, max_connections=3)
        for action in ("disable", "ban", "delete"):
            made = await env.post_ok(api, "/api/v1/lines", {"package_id": package["id"]})
            line, password = made["line"], made["password"]
            client, stream = await _watch(env, line["username"], password)
            try:
                assert (await api.get(f"/api/v1/lines/{line['id']}")).json()["active_connections"] == 1
                sessions = (await api.get("/api/v1/sessions", params={"line_id": line["id"]})).json()
                assert sessions["total"] == 1
                path = f"/api/v1/lines/{line['id']}"
                if action == "delete":
                    assert (await api.delete(path)).status_code == 204
                else:
                    assert (await api.post(f"{path}/{action}", json={} if action == "ban" else None)).status_code == 200
                assert await _ends(stream), f"{action}: the stream kept going"
                assert env.svc.sessions.active_count(line["id"]) == 0
            finally:
                await stream.aclose()
                await client.aclose()
