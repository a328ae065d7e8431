"""Bouquets and packages over the REST API: CRUD, ordered channel lists, validation, pagination, audit."""

from __future__ import annotations

from headend.settings import Settings
from tests.rest.env import api_headend, audit_entries


async def test_bouquet_crud_and_ordered_channels(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        ids = [(await env.post_ok(api, "/api/v1/channels", {"name": f"C{n}"}))["id"] for n in range(3)]
        made = await env.post_ok(api, "/api/v1/bouquets", {"name": "Main", "channel_ids": [ids[2], ids[0]]})
        assert made["channel_ids"] == [ids[2], ids[0]]
        bouquet = f"/api/v1/bouquets/{made['id']}"

        put = await api.put(f"{bouquet}/channels", json={"channel_ids": [ids[1], ids[2], ids[1]]})
        assert put.status_code == 200, put.text
        assert put.json()["channel_ids"] == [ids[1], ids[2]]  # order kept, repeats dropped
        missing = await api.put(f"{bouquet}/channels", json={"channel_ids": [ids[0], 999_999]})
        assert missing.status_code == 422
        assert missing.json()["error"]["field"] == "channel_ids"
        negative = await api.put(f"{bouquet}/channels", json={"channel_ids": [0]})
        assert negative.status_code == 422
        assert (await api.get(bouquet)).json()["channel_ids"] == [ids[1], ids[2]]  # unchanged by the failures

        renamed = await api.patch(bouquet, json={"name": "Premium", "position": 3})
        assert renamed.status_code == 200
        assert renamed.json()["name"] == "Premium"
        assert (await api.post("/api/v1/bouquets", json={"name": "Premium"})).status_code == 409
        await env.post_ok(api, "/api/v1/bouquets", {"name": "Kids"})
        listing = (await api.get("/api/v1/bouquets", params={"limit": 1})).json()
        assert listing["total"] == 2
        assert len(listing["items"]) == 1
        assert [b["name"] for b in (await api.get("/api/v1/bouquets", params={"q": "kid"})).json()["items"]] == ["Kids"]
        assert (await api.delete(bouquet)).status_code == 204
        assert (await api.get(bouquet)).status_code == 404
        entries = await audit_entries(env, object_type="bouquet")
        channels = next(e for e in entries if e["action"] == "bouquet.channels")
        assert channels["before"]["channel_ids"] == [ids[2], ids[0]]
        assert channels["after"]["channel_ids"] == [ids[1], ids[2]]


async def test_package_crud_with_credit_cost(settings: Settings) -> None:
    async with api_headend(settings) as env, env.bootstrap() as api:
        bouquet = await env.post_ok(api, "/api/v1/bouquets", {"name": "Main"})
        made = await env.post_ok(
            api, "/api/v1/packages", {"name": "Basic", "bouquet_ids": [bouquet["id"]], "credit_cost": 3}
        )
        assert made["credit_cost"] == 3
        assert made["duration_days"] == 30
        assert made["allowed_outputs"] == ["ts", "m3u8"]
        package = f"/api/v1/packages/{made['id']}"

        changed = await api.patch(package, json={"credit_cost": 5, "allowed_outputs": ["m3u8"], "bouquet_ids": []})
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["credit_cost"], body["allowed_outputs"], body["bouquet_ids"]) == (5, ["m3u8"], [])
        assert body["name"] == "Basic"

        for bad, field in (
            ({"name": "X", "credit_cost": -1}, "credit_cost"),
            ({"name": "X", "allowed_outputs": []}, "allowed_outputs"),
            ({"name": "X", "allowed_outputs": ["rtmp"]}, "allowed_outputs.0"),
            ({"name": "X", "duration_days": 0}, "duration_days"),
            ({"name": "X", "bouquet_ids": [424242]}, "bouquet_ids"),
        ):
            response = await api.post("/api/v1/packages", json=bad)
            assert response.status_code == 422, (bad, response.text)
            assert response.json()["error"]["field"] == field
        assert (await api.get("/api/v1/packages")).json()["total"] == 1

        # A package a line holds cannot be deleted.
        line = await env.post_ok(api, "/api/v1/lines", {"package_id": made["id"]})
        held = await api.delete(package)
        assert held.status_code == 409
        assert (await api.delete(f"/api/v1/lines/{line['line']['id']}")).status_code == 204
        assert (await api.delete(package)).status_code == 204
        actions = [e["action"] for e in await audit_entries(env, object_type="package")]
        assert actions == ["package.delete", "package.update", "package.create"]
