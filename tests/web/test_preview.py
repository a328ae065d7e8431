"""The preview routes: native HLS for support and up, authenticated on every request (session cookie or bearer
token), served by the same media functions as subscribers' HLS, and counted as a viewer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.web.conftest import Panel, panel_server, web_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def panel(tmp_path_factory: pytest.TempPathFactory, loop_ts: Path) -> AsyncIterator[Panel]:
    settings = web_settings(tmp_path_factory.mktemp("preview") / "data")
    async with panel_server(settings, [[str(loop_ts)]]) as panel:
        yield panel


async def test_preview_needs_an_admin_session_or_token_of_a_support_role(panel: Panel) -> None:
    channel_id = panel.channel_ids[0]
    playlist = f"/admin/preview/{channel_id}.m3u8"
    anonymous = panel.anonymous()
    assert (await anonymous.get(playlist)).status_code == 401
    assert (await anonymous.get(playlist, headers={"authorization": "Bearer nope"})).status_code == 401
    assert (await anonymous.get(playlist, headers={"cookie": "headend_admin=forged"})).status_code == 401
    reseller = await panel.login("reseller")
    assert (await reseller.get(playlist)).status_code == 403
    support = await panel.login("support")
    assert (await support.get("/admin/preview/999999.m3u8")).status_code == 404

    answer = await support.get(playlist)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.apple.mpegurl"
    segments = [line for line in answer.text.splitlines() if line and not line.startswith("#")]
    assert segments
    assert all(line.startswith(f"{channel_id}/") and line.endswith(".ts") for line in segments)
    segment = f"/admin/preview/{segments[-1]}"
    media = await support.get(segment)
    assert media.status_code == 200
    assert media.headers["content-type"] == "video/mp2t"
    assert media.content[:1] == b"\x47"  # an MPEG-TS sync byte
    assert (await anonymous.get(segment)).status_code == 401
    live = panel.services.hub.get(channel_id)
    assert live is not None
    assert live.viewer_count() >= 1


async def test_preview_with_an_api_token(panel: Panel) -> None:
    svc = panel.services
    _record, token = await svc.api_tokens.create(panel.accounts["operator"].id, "preview test")
    async with httpx.AsyncClient(base_url=panel.base_url, timeout=30) as client:
        answer = await client.get(
            f"/admin/preview/{panel.channel_ids[0]}.m3u8", headers={"authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200
        assert "#EXTM3U" in answer.text
        bootstrap = await client.get(
            f"/admin/preview/{panel.channel_ids[0]}.m3u8", headers={"authorization": "Bearer test-operator-token"}
        )
        assert bootstrap.status_code == 200
