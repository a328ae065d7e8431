"""Channels, sources, profiles and categories over the REST API: CRUD, validation, pagination, audit."""

from __future__ import annotations

from pathlib import Path

from headend.settings import Settings
from tests.rest.env import api_headend, audit_entries


async def test_channel_crud_with_validation_and_audit(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        made = await api.post("/api/v1/channels", json={"name": "News 24", "number": 24, "tvg_id": "news.24"})
        assert made.status_code == 201, made.text
        channel = made.json()
        assert channel["name"] == "News 24"
        assert channel["state"] == "stopped"
        assert channel["viewers"] == 0
        channel_id = channel["id"]

        got = await api.get(f"/api/v1/channels/{channel_id}")
        assert got.status_code == 200
        assert got.json() == channel

        changed = await api.patch(f"/api/v1/channels/{channel_id}", json={"name": "News 24/7", "number": None})
        assert changed.status_code == 200, changed.text
        assert changed.json()["name"] == "News 24/7"
        assert changed.json()["number"] is None
        assert changed.json()["tvg_id"] == "news.24"  # not sent: unchanged

        for body, field in (
            ({"name": ""}, "name"),
            ({"name": "x", "surprise": 1}, "surprise"),
            ({"name": "x", "number": "7"}, "number"),  # strict: no strings for numbers
            ({"name": "x", "number": 0}, "number"),
            ({"name": "x", "logo_url": "javascript:alert(1)"}, "logo_url"),
            ({"name": "x", "profile_id": 999}, "profile_id"),
        ):
            bad = await api.post("/api/v1/channels", json=body)
            assert bad.status_code == 422, (body, bad.text)
            assert bad.json()["error"]["field"] == field, bad.json()
            assert bad.json()["error"]["type"] == "ValidationError"
        not_json = await api.post("/api/v1/channels", content=b"{", headers={"content-type": "application/json"})
        assert not_json.status_code == 422
        null_name = await api.patch(f"/api/v1/channels/{channel_id}", json={"name": None})
        assert null_name.status_code == 422  # only nullable fields take null

        assert (await api.post("/api/v1/channels", json={"name": "Five", "number": 5})).status_code == 201
        taken = await api.post("/api/v1/channels", json={"name": "Other", "number": 5})
        assert taken.status_code == 409
        assert taken.json()["error"]["type"] == "Conflict"
        assert (await api.get("/api/v1/channels/999999")).status_code == 404
        assert (await api.get("/api/v1/channels/abc")).status_code == 404
        assert (await api.get("/api/v1/channels/99999999999")).status_code == 404

        assert (await api.delete(f"/api/v1/channels/{channel_id}")).status_code == 204
        assert (await api.get(f"/api/v1/channels/{channel_id}")).status_code == 404

        everything = await audit_entries(env, object_type="channel")
    entries = [e for e in everything if e["object_id"] == str(channel_id)]
    create, update, delete = reversed(entries)
    assert [create["action"], update["action"], delete["action"]] == [
        "channel.create", "channel.update", "channel.delete"
    ]  # fmt: skip
    assert create["after"]["name"] == "News 24"
    assert create["before"] is None
    assert update["before"]["name"] == "News 24"
    assert update["after"]["name"] == "News 24/7"
    assert delete["before"]["name"] == "News 24/7"
    assert delete["after"] is None
    assert all(e["actor"] == "bootstrap-token" and e["ip"] == "127.0.0.1" for e in entries)


async def test_channel_list_pagination_search_and_filter(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        for number in range(2, 14):
            body = {"name": f"Channel {number:02d}", "number": number, "enabled": number % 3 != 0}
            assert (await api.post("/api/v1/channels", json=body)).status_code == 201
        assert (await api.post("/api/v1/channels", json={"name": "Test 1", "number": 1})).status_code == 201
        first = (await api.get("/api/v1/channels", params={"limit": 5})).json()
        assert first["total"] == 13
        assert (first["limit"], first["offset"]) == (5, 0)
        assert [c["number"] for c in first["items"]] == [1, 2, 3, 4, 5]
        last = (await api.get("/api/v1/channels", params={"limit": 5, "offset": 10})).json()
        assert [c["number"] for c in last["items"]] == [11, 12, 13]
        found = (await api.get("/api/v1/channels", params={"q": "channel 1"})).json()
        assert [c["name"] for c in found["items"]] == ["Channel 10", "Channel 11", "Channel 12", "Channel 13"]
        disabled = (await api.get("/api/v1/channels", params={"enabled": "false"})).json()
        assert [c["number"] for c in disabled["items"]] == [3, 6, 9, 12]
        for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
            assert (await api.get("/api/v1/channels", params=params)).status_code == 422, params
        default = (await api.get("/api/v1/channels")).json()
        assert default["limit"] == 50


async def test_running_channel_shows_state_viewers_and_status(settings: Settings, loop_ts: Path) -> None:
    async with api_headend(settings, [[str(loop_ts)]]) as env:
        channel_id = env.channel_ids[0]
        async with env.client() as viewer, viewer.stream("GET", f"/stream/{channel_id}.ts") as stream:
            assert stream.status_code == 200
            body = stream.aiter_bytes()  # kept referenced: leaving an async for would close the stream
            assert await anext(body)
            async with env.bootstrap() as api:
                listing = (await api.get("/api/v1/channels")).json()
                status = (await api.get("/api/v1/status")).json()
                stats = (await api.get("/api/v1/stats")).json()
        item = listing["items"][0]
        assert item["name"] == "Test 1"
        assert item["state"] in ("starting", "live")
        assert item["viewers"] >= 1, (item, status)
        assert [c["id"] for c in status["channels"]] == [channel_id]
        assert status["channels"][0]["active_source"] == 0
        assert status["totals"]["channels_running"] == 1
        assert status["totals"]["viewers"] >= 1
        assert stats["channels_total"] == 1
        assert stats["version"] == status["version"]
        assert stats["uptime_s"] >= 0
        assert 0 <= stats["cpu_percent"]


async def test_sources_are_ordered_redacted_and_editable(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        channel_id = (await env.post_ok(api, "/api/v1/channels", {"name": "Sourced"}))["id"]
        base = f"/api/v1/channels/{channel_id}/sources"
        first = await env.post_ok(api, base, {"kind": "http", "url": "http://user:s3cr3t@up.example/a.ts"})
        second = await env.post_ok(api, base, {"kind": "testpattern", "label": "Slate", "position": 0})
        assert first["url"] == "http://***@up.example/a.ts"  # the password never comes back
        listing = (await api.get(base)).json()
        assert [s["id"] for s in listing["items"]] == [second["id"], first["id"]]
        assert [s["position"] for s in listing["items"]] == [0, 1]

        moved = await api.patch(f"/api/v1/sources/{first['id']}", json={"position": 0, "enabled": False})
        assert moved.status_code == 200, moved.text
        assert moved.json()["position"] == 0
        assert moved.json()["enabled"] is False
        bad = await api.post(base, json={"kind": "http", "url": "file:///etc/passwd"})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "url"
        unknown = await api.post(base, json={"kind": "gopher", "url": "gopher://x"})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["field"] == "kind"
        assert (await api.delete(f"/api/v1/sources/{second['id']}")).status_code == 204
        assert [s["id"] for s in (await api.get(base)).json()["items"]] == [first["id"]]
        assert (await api.delete(f"/api/v1/sources/{second['id']}")).status_code == 404
        assert (await api.get("/api/v1/channels/424242/sources")).status_code == 404
        entries = await audit_entries(env, object_type="source")
        assert "s3cr3t" not in str(entries)
        assert [e["action"] for e in entries] == ["source.delete", "source.update", "source.create", "source.create"]


async def test_profiles_and_categories(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        profiles = (await api.get("/api/v1/profiles")).json()
        assert "remux" in [p["name"] for p in profiles["items"]]
        made = await api.post(
            "/api/v1/profiles", json={"name": "sd", "mode": "transcode", "video_bitrate_kbps": 1200, "max_height": 480}
        )
        assert made.status_code == 201, made.text
        assert made.json()["gop_seconds"] == 2.0
        assert (await api.post("/api/v1/profiles", json={"name": "sd"})).status_code == 409
        bad = await api.post("/api/v1/profiles", json={"name": "hd", "x264_preset": "; rm -rf /"})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "x264_preset"

        news = await api.post("/api/v1/categories", json={"name": "News"})
        assert news.status_code == 201
        assert news.json()["kind"] == "live"
        assert (await api.post("/api/v1/categories", json={"name": "News"})).status_code == 409
        movies = await api.post("/api/v1/categories", json={"name": "News", "kind": "movie"})
        assert movies.status_code == 201
        live = (await api.get("/api/v1/categories")).json()
        assert [c["name"] for c in live["items"]] == ["News"]
        assert (await api.get("/api/v1/categories", params={"kind": "movie"})).json()["total"] == 1
        assert (await api.delete(f"/api/v1/categories/{news.json()['id']}")).status_code == 204
        assert (await api.get("/api/v1/categories")).json()["total"] == 0
