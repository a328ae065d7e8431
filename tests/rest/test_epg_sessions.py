"""EPG sources, imports and hand mapping; live viewer sessions; over the REST API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from headend.settings import Settings
from tests.rest.env import ApiEnv, api_headend, audit_entries


def _xmltv() -> str:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stamp = "%Y%m%d%H%M%S +0000"
    programmes = "".join(
        f'<programme channel="news.one" start="{(start + timedelta(hours=h)).strftime(stamp)}" '
        f'stop="{(start + timedelta(hours=h + 1)).strftime(stamp)}"><title>Hour {h}</title></programme>'
        for h in range(3)
    )
    channel = '<channel id="news.one"><display-name>News One</display-name></channel>'
    return f'<?xml version="1.0"?><tv>{channel}{programmes}</tv>'


async def _wait_imported(api: httpx.AsyncClient, path: str) -> dict[str, Any]:
    for _ in range(200):
        source = (await api.get(path)).json()
        if source["last_status"] and not source["importing"]:
            assert isinstance(source, dict)
            return source
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def test_epg_sources_refresh_unmatched_and_overrides(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        news = await env.post_ok(api, "/api/v1/channels", {"name": "News One", "tvg_id": "news.one"})
        other = await env.post_ok(api, "/api/v1/channels", {"name": "Other"})
        settings.epg_dir.mkdir(parents=True, exist_ok=True)
        (settings.epg_dir / "guide.xml").write_text(_xmltv(), encoding="utf-8")

        made = await env.post_ok(
            api, "/api/v1/epg/sources", {"name": "Local", "kind": "file", "location": "guide.xml", "refresh_hours": 0}
        )
        assert made["last_status"] == ""
        assert made["importing"] is False
        one = f"/api/v1/epg/sources/{made['id']}"
        refresh = await api.post(f"{one}/refresh")
        assert refresh.status_code == 202, refresh.text
        assert refresh.json()["source_id"] == made["id"]
        imported = await _wait_imported(api, one)
        assert imported["last_status"] == "ok", imported
        assert imported["channels_matched"] == 1
        assert imported["programmes"] == 3

        unmatched = (await api.get("/api/v1/epg/unmatched")).json()
        assert [c["id"] for c in unmatched["items"]] == [other["id"]]
        mapped = await api.put(f"/api/v1/channels/{other['id']}/epg", json={"guide_id": "news.one"})
        assert mapped.status_code == 200
        assert mapped.json() == {"channel_id": other["id"], "guide_id": "news.one", "source_id": None}
        assert (await api.get("/api/v1/epg/overrides")).json()["total"] == 1
        assert (await api.delete(f"/api/v1/channels/{other['id']}/epg")).status_code == 204
        assert (await api.get("/api/v1/epg/overrides")).json()["total"] == 0
        assert (await api.put("/api/v1/channels/999999/epg", json={"guide_id": "x"})).status_code == 404

        changed = await api.patch(one, json={"priority": 5, "enabled": False})
        assert changed.status_code == 200
        assert (changed.json()["priority"], changed.json()["enabled"]) == (5, False)
        escape = await api.post("/api/v1/epg/sources", json={"name": "Esc", "kind": "file", "location": "../x.xml"})
        assert escape.status_code == 422
        assert escape.json()["error"]["field"] == "location"
        remote = await env.post_ok(
            api, "/api/v1/epg/sources", {"name": "Remote", "location": "https://bob:pw-9931@guide.example/x.xml"}
        )
        assert "pw-9931" not in remote["location"]
        assert (await api.post("/api/v1/epg/sources/999999/refresh")).status_code == 404
        assert (await api.delete(one)).status_code == 204
        assert (await api.get(one)).status_code == 404
        assert [s["name"] for s in (await api.get("/api/v1/epg/sources")).json()["items"]] == ["Remote"]
        entries = await audit_entries(env, object_type="epg_source")
        assert "pw-9931" not in str(entries)
        assert news["id"] not in [c["id"] for c in unmatched["items"]]


def _open_session(env: ApiEnv, line_id: int, channel_id: int, device: str) -> str:
    """A live HLS session in the real session store (what a playlist request opens)."""
    session = env.svc.sessions.open(
        line_id=line_id, max_connections=5, channel_id=channel_id, device=device, kind="hls"
    )
    return session.id


async def test_sessions_list_and_end_scoped_to_resellers(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        channel = await env.post_ok(api, "/api/v1/channels", {"name": "Live"})
        package = await env.post_ok(api, "/api/v1/packages", {"name": "Basic"})
        reseller = await env.account("reseller", credits=10, packages=[package["id"]])
        async with env.client(reseller.token) as shop:
            own = (await env.post_ok(shop, "/api/v1/lines", {"package_id": package["id"]}))["line"]
        house = (await env.post_ok(api, "/api/v1/lines", {"package_id": package["id"]}))["line"]
        mine = _open_session(env, own["id"], channel["id"], "10.0.0.1|Player")
        theirs = _open_session(env, house["id"], channel["id"], "10.0.0.2|<script>x</script>")

        everything = (await api.get("/api/v1/sessions")).json()
        assert {s["id"] for s in everything["items"]} == {mine, theirs}
        shown = next(s for s in everything["items"] if s["id"] == theirs)
        assert shown["device"] == "10.0.0.2|<script>x</script>"
        assert shown["kind"] == "hls"
        assert shown["duration_s"] >= 0
        async with env.client(reseller.token) as shop:
            scoped = (await shop.get("/api/v1/sessions")).json()
            assert [s["id"] for s in scoped["items"]] == [mine]
            assert (await shop.delete(f"/api/v1/sessions/{theirs}")).status_code == 404
            assert env.svc.sessions.active_count(house["id"]) == 1
            assert (await shop.delete(f"/api/v1/sessions/{mine}")).status_code == 204
        assert env.svc.sessions.active_count(own["id"]) == 0
        assert (await api.delete(f"/api/v1/sessions/{theirs}")).status_code == 204
        assert (await api.delete(f"/api/v1/sessions/{theirs}")).status_code == 404
        assert (await api.get("/api/v1/sessions")).json()["total"] == 0
        ended = await audit_entries(env, action="session.end")
        assert [e["actor"] for e in ended] == ["bootstrap-token", reseller.username]


async def test_audit_log_is_admin_only_filtered_and_paged(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        operator = await env.account("operator")
        async with env.client(operator.token) as client:
            for n in range(5):
                await env.post_ok(client, "/api/v1/channels", {"name": f"A{n}"})
            assert (await client.get("/api/v1/audit")).status_code == 403
        page = (await api.get("/api/v1/audit", params={"actor_id": operator.id, "limit": 2, "offset": 1})).json()
        assert page["total"] == 5
        assert (page["limit"], page["offset"]) == (2, 1)
        assert [e["after"]["name"] for e in page["items"]] == ["A3", "A2"]  # newest first
        assert all(e["action"] == "channel.create" and e["actor"] == operator.username for e in page["items"])
        by_type = (await api.get("/api/v1/audit", params={"object_type": "channel", "action": "channel.create"})).json()
        assert by_type["total"] == 5
