"""The panel in headless Chromium, end to end: an operator logs in, creates a test-pattern channel, a bouquet,
a package and a line through the forms; a real client plays the line's stream and appears on the dashboard
(through the polled fragment); the operator ends that session and the client's stream ends; the channel's
preview player plays. No page reports a CSP violation. Screenshots of every step land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser

from headend.ingest.sources import Profile
from tests.web.conftest import BrowserSession, Panel, open_session, panel_server, web_settings

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

CLIENT_UA = "headend-browser-test-client"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def panel(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Panel]:
    async with panel_server(web_settings(tmp_path_factory.mktemp("browser") / "data")) as panel:
        await panel.services.channels.create_profile(Profile(name="small", max_height=180, fps=25))
        yield panel


async def _step(session: BrowserSession, name: str) -> None:
    """Screenshot the step and check the page reported no CSP violation."""
    await session.screenshot(f"browser-{name}")
    assert await session.csp_violations() == [], name


async def _create_channel(session: BrowserSession) -> int:
    page = session.page
    await session.goto("/admin/channels/new")
    await page.fill("#f-name", "Browser Pattern")
    await page.fill("#f-number", "501")
    await page.select_option("#f-profile_id", label="small (remux)")
    await page.fill("#f-source", "testpattern:Browser")
    await _step(session, "03-new-channel-form")
    await page.click("#channel-form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/admin/channels/\d+$"))
    found = re.search(r"/admin/channels/(\d+)$", page.url)
    assert found is not None
    assert await page.inner_text("#channel-name") == "Browser Pattern"
    assert "testpattern" in await page.inner_text("#source-list")
    await _step(session, "04-channel-created")
    return int(found.group(1))


async def _create_package(session: BrowserSession) -> None:
    page = session.page
    await session.goto("/admin/bouquets")
    await page.fill("#bouquet-form #f-name", "Browser bouquet")
    await page.check("#bouquet-form label:has-text('Browser Pattern') input")
    await page.click("#bouquet-form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/admin/bouquets/\d+$"))
    await session.goto("/admin/packages")
    await page.fill("#package-form #f-name", "Browser package")
    await page.fill("#package-form #f-max_connections", "2")
    await page.check("#package-form label:has-text('Browser bouquet') input")
    await page.click("#package-form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/admin/packages/\d+$"))
    await _step(session, "05-package-created")


async def _create_line(session: BrowserSession) -> tuple[str, str, str]:
    page = session.page
    await session.goto("/admin/lines/new")
    await page.select_option("#f-package_id", label="Browser package (30 days, 1 credit(s))")
    await page.fill("#f-username", "browser-viewer")
    await page.click("#line-form button[type=submit]")
    await page.wait_for_selector("#line-password")
    password = await page.inner_text("#line-password")
    playlist = await page.inner_text("#playlist-url")
    await _step(session, "06-line-created")
    return "browser-viewer", password, playlist


async def _play(client: httpx.AsyncClient, url: str, started: asyncio.Event) -> int:
    """Read the stream until the server ends it; returns the bytes received."""
    received = 0
    try:
        async with client.stream("GET", url, headers={"user-agent": CLIENT_UA}) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_raw():
                received += len(chunk)
                started.set()
    except httpx.HTTPError:
        pass  # the server cut the connection: that is the end we wait for
    return received


async def _viewers(session: BrowserSession, channel_id: int) -> int:
    cell = session.page.locator(f'#channels-live tr[data-channel-id="{channel_id}"] td.viewers')
    return int(await cell.inner_text()) if await cell.count() else 0


async def test_operator_flow_through_the_panel(panel: Panel, browser: Browser) -> None:
    session = await open_session(browser, panel.base_url)
    page = session.page
    await session.goto("/admin")  # not logged in: the login page
    assert "/admin/login" in page.url
    await _step(session, "01-login")
    await session.login(panel.accounts["operator"].username)
    await _step(session, "02-dashboard")

    channel_id = await _create_channel(session)
    await _create_package(session)
    username, password, playlist = await _create_line(session)
    assert f"username={username}" in playlist
    assert f"password={password}" in playlist
    assert "type=m3u_plus" in playlist
    assert "output=ts" in playlist

    # a real client plays the line's stream; the dashboard (already open) shows it through its polling
    await session.goto("/admin")
    assert await _viewers(session, channel_id) == 0
    started = asyncio.Event()
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
        url = f"{panel.base_url}/live/{username}/{password}/{channel_id}.ts"
        player = asyncio.create_task(_play(client, url, started))
        await asyncio.wait_for(started.wait(), 30)
        await page.wait_for_function(
            """(id) => {
                const cell = document.querySelector(`#channels-live tr[data-channel-id="${id}"] td.viewers`);
                return cell !== null && Number(cell.textContent) >= 1;
            }""",
            arg=channel_id,
            timeout=20_000,
        )
        assert int(await page.inner_text("#stat-sessions")) >= 1
        await _step(session, "07-dashboard-viewer")

        # the operator ends the session from the sessions page: the client's stream ends
        await session.goto("/admin/sessions")
        row = page.locator("#session-list tr", has_text=CLIENT_UA)
        assert await row.count() == 1
        assert username in await row.inner_text()
        await _step(session, "08-sessions")
        await row.locator("button", has_text="End session").click()
        await page.wait_for_url(re.compile(r".*/admin/sessions$"))
        received = await asyncio.wait_for(player, 20)
        assert received > 0
        assert await page.locator("#session-list tr", has_text=CLIENT_UA).count() == 0
        await _step(session, "09-session-ended")
    assert panel.services.sessions.sessions() == []
    audit = await panel.services.audit.list(action="session.end")
    assert [entry.actor for entry in audit] == [panel.accounts["operator"].username]

    # the channel's preview plays in the page's <video>
    await session.goto(f"/admin/channels/{channel_id}")
    await page.click("#preview-start")
    await page.wait_for_function(
        "() => { const v = document.getElementById('preview'); return v.readyState >= 2 && v.currentTime > 0.5; }",
        timeout=45_000,
    )
    first = await page.evaluate("() => document.getElementById('preview').currentTime")
    await page.wait_for_function(
        "(t) => document.getElementById('preview').currentTime > t + 0.5", arg=first, timeout=20_000
    )
    await _step(session, "10-preview-playing")
    live = panel.services.hub.get(channel_id)
    assert live is not None
    assert live.viewer_count() >= 1
    assert session.dialogs == []
    await session.context.close()


async def test_screenshots_are_saved(panel: Panel, browser: Browser) -> None:
    """The artefacts the flow promises exist (and are PNG images)."""
    session = await open_session(browser, panel.base_url)
    await session.goto("/admin/login")
    path = await session.screenshot("browser-login-again")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(path).parent.name == "screenshots"
    await session.context.close()
