"""Stopping the server while the API runs a background EPG refresh: the job is cancelled before the database
closes, records its failure, and the previous state stays usable after a restart."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.runtime import Headend
from headend.settings import Settings
from tests.epg.guide_server import GuideServer

AUTH = {"Authorization": "Bearer test-operator-token"}


async def test_shutdown_cancels_a_running_refresh_before_the_database_closes(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with GuideServer() as upstream:
        upstream.route("/slow.xml", body=b"<tv>" + b" " * 100_000, stall_after=10)  # starts, then stalls
        headend = Headend(settings)
        await headend.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}", headers=AUTH) as client:
                made = await client.post(
                    "/api/v1/epg/sources", json={"name": "Slow", "kind": "url", "location": upstream.url("/slow.xml")}
                )
                assert made.status_code == 201, made.text
                source_id = made.json()["id"]
                started = await client.post(f"/api/v1/epg/sources/{source_id}/refresh")
                assert started.status_code == 202
                for _ in range(100):  # until the download has begun
                    if upstream.requests["/slow.xml"]:
                        break
                    await asyncio.sleep(0.05)
                assert upstream.requests["/slow.xml"] == 1
        finally:
            await headend.aclose()
    assert "has not been called" not in caplog.text  # nothing wrote after the database closed
    db = Database(settings.database_url)
    await db.start()
    try:
        source = await EpgStore(db).get_source(source_id)
        assert source.last_status == "failed"  # the cancelled import was recorded, not left half-done
        assert source.programmes == 0
    finally:
        await db.aclose()
