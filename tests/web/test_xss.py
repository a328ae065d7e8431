"""Untrusted text renders as text on every panel page that shows it: channel names, M3U titles and groups
(imported through the import page), bouquet and package names, line notes, and a viewer's User-Agent.

Two checks per page: the HTML source holds only the escaped form of each hostile string (never the raw
markup), and in Chromium no dialog opens, no element carries an event-handler attribute, no inline script
exists and the hostile text is visible as text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import pytest
import pytest_asyncio
from markupsafe import escape
from playwright.async_api import Browser, FilePayload

from headend.catalog.records import ChannelInput
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.cli import source_input
from headend.types import ChannelId
from tests.web.conftest import BrowserSession, Panel, PanelClient, open_session, panel_server, web_settings

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

SCRIPT: Final = "<script>alert('xss-script')</script>"
IMG: Final = '<img src=x onerror=alert("xss-img")>'
BREAKER: Final = "\"'><svg onload=alert('xss-svg')>"
HOSTILE: Final = (SCRIPT, IMG, BREAKER)
M3U_TITLE: Final = "<img src=x onerror=alert('m3u-title')>"
M3U_BREAKER: Final = "'><svg onload=alert('m3u-svg')>"
M3U_GROUP: Final = "<b onmouseover=alert('group')>group</b>"
AGENT: Final = '<img src=x onerror=alert("user-agent")>"\'><svg onload=alert(1)>'
ALL: Final = (*HOSTILE, M3U_TITLE, M3U_BREAKER, M3U_GROUP, AGENT)

_INJECTED: Final = """() => {
  const withHandlers = [...document.querySelectorAll('*')].filter(
    (el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on')));
  const inlineScripts = [...document.querySelectorAll('script')].filter((s) => !s.src);
  const shown = (el) => el.outerHTML.slice(0, 120);
  return withHandlers.map(shown).concat(inlineScripts.map(shown));
}"""


@dataclass
class Env:
    panel: Panel
    admin: PanelClient
    channel_ids: list[ChannelId]
    line_id: int
    bouquet_id: int
    package_id: int
    player: asyncio.Task[None]


async def _hold_stream(url: str, started: asyncio.Event) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client,
        client.stream("GET", url, headers={"user-agent": AGENT}) as response,
    ):
        assert response.status_code == 200
        async for _chunk in response.aiter_raw():
            started.set()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, loop_ts: Path) -> AsyncIterator[Env]:
    settings = web_settings(tmp_path_factory.mktemp("xss") / "data", relay={"idle_grace_s": 30.0})
    async with panel_server(settings) as panel:
        svc = panel.services
        ids: list[ChannelId] = []
        for number, name in enumerate(HOSTILE, 1):
            channel = await svc.channels.create_channel(ChannelInput(name=name, number=number, tvg_id=name))
            await svc.channels.add_source(channel.id, source_input(str(loop_ts)))
            ids.append(channel.id)
        bouquet = await svc.subscribers.create_bouquet(IMG, ids)
        package = await svc.subscribers.create_package(PackageInput(name=BREAKER, bouquet_ids=(bouquet.id,)))
        line, password = await svc.subscribers.create_line(
            LineInput(username="xss-line", password="xss-password-1", package_ids=(package.id,), notes=SCRIPT)
        )
        started = asyncio.Event()
        url = f"{panel.base_url}/live/xss-line/{password}/{ids[0]}.ts"
        player = asyncio.create_task(_hold_stream(url, started))
        await asyncio.wait_for(started.wait(), 30)
        admin = await panel.login("admin")
        try:
            yield Env(panel, admin, ids, line.id, bouquet.id, package.id, player)
        finally:
            player.cancel()
            await asyncio.gather(player, return_exceptions=True)


def _assert_escaped(html: str, shown: tuple[str, ...], path: str) -> None:
    for text in ALL:
        assert text not in html, f"{path}: raw {text!r} in the HTML"
    for text in shown:
        assert str(escape(text)) in html, f"{path}: {text!r} is not shown (escaped)"


async def _assert_inert(session: BrowserSession, path: str, shown: tuple[str, ...]) -> None:
    await session.goto(path)
    await session.page.wait_for_load_state("load")
    assert await session.page.evaluate(_INJECTED) == [], path
    assert session.dialogs == [], path
    body = await session.page.inner_text("body")
    for text in shown:
        if not text.startswith("<b "):  # category names show in <option> and table cells as text too
            assert text in body, f"{path}: {text!r} not visible as text"
    assert await session.csp_violations() == [], path


async def test_import_page_renders_m3u_titles_as_text(env: Env, browser: Browser) -> None:
    playlist = "\n".join(
        [
            "#EXTM3U",
            f'#EXTINF:-1 tvg-id="{M3U_TITLE}" group-title="{M3U_GROUP}",{M3U_TITLE}',
            "testpattern:one",
            f"#EXTINF:-1,{M3U_BREAKER}",
            "testpattern:two",
            f"#EXTINF:-1,{SCRIPT}",
            f"ftp://example.invalid/{IMG}",
        ]
    ).encode()
    session = await open_session(browser, env.panel.base_url)
    await session.login(env.panel.accounts["admin"].username)
    await session.goto("/admin/import")
    await session.page.set_input_files(
        "#f-file", files=[FilePayload(name="hostile.m3u", mimeType="audio/x-mpegurl", buffer=playlist)]
    )
    await session.page.click("#import-form button[type=submit]")
    await session.page.wait_for_selector('#import-progress[data-done="yes"]', timeout=30_000)
    assert await session.page.inner_text("#count-created") == "2"
    assert await session.page.inner_text("#count-problems") == "1"
    assert await session.page.evaluate(_INJECTED) == []
    assert session.dialogs == []
    assert await session.csp_violations() == []
    await session.screenshot("xss-import-summary")
    job_path = session.page.url.removeprefix(env.panel.base_url)
    html = (await env.admin.get(job_path)).text
    _assert_escaped(html, (), job_path)
    assert "ftp://example.invalid/" in html  # the refused entry is reported, its markup escaped
    channels = (await env.admin.get("/admin/channels")).text
    _assert_escaped(channels, (M3U_TITLE, M3U_BREAKER), "/admin/channels")
    categories = (await env.admin.get("/admin/categories")).text
    _assert_escaped(categories, (M3U_GROUP,), "/admin/categories")
    await _assert_inert(session, "/admin/channels", (M3U_TITLE, M3U_BREAKER))
    await _assert_inert(session, "/admin/categories", (M3U_GROUP,))
    await session.context.close()


async def test_every_page_shows_hostile_text_as_text(env: Env, browser: Browser) -> None:
    first = env.channel_ids[0]
    pages: dict[str, tuple[str, ...]] = {
        "/admin": (SCRIPT,),  # the running channel, by name
        "/admin/dashboard/live": (SCRIPT,),
        "/admin/channels": HOSTILE,
        **{f"/admin/channels/{cid}": (name,) for cid, name in zip(env.channel_ids, HOSTILE, strict=True)},
        "/admin/bouquets": (IMG,),
        f"/admin/bouquets/{env.bouquet_id}": (IMG, *HOSTILE),
        "/admin/packages": (BREAKER, IMG),
        f"/admin/packages/{env.package_id}": (BREAKER, IMG),
        "/admin/lines": (SCRIPT,),
        f"/admin/lines/{env.line_id}": (SCRIPT, AGENT),  # notes, and the session's device
        "/admin/sessions": (AGENT, SCRIPT),  # user agent, channel name
        "/admin/epg": HOSTILE,  # channels without a guide
        "/admin/audit": (),
    }
    for path, shown in pages.items():
        response = await env.admin.get(path)
        assert response.status_code == 200, path
        assert "content-security-policy" in response.headers
        _assert_escaped(response.text, shown, path)
    assert env.panel.services.sessions.active_count(env.line_id) == 1, "the hostile-UA viewer must still be watching"
    session = await open_session(browser, env.panel.base_url)
    await session.login(env.panel.accounts["admin"].username)
    for path, shown in pages.items():
        await _assert_inert(session, path, shown if path != "/admin/dashboard/live" else ())
    await session.goto("/admin/sessions")
    await session.screenshot("xss-sessions")
    await session.goto(f"/admin/channels/{first}")
    await session.screenshot("xss-channel")
    await session.context.close()


async def test_hostile_login_name_is_not_reflected_raw(env: Env) -> None:
    client = env.panel.anonymous()
    answer = await client.post("/admin/login", data={"username": IMG, "password": "x", "next": BREAKER})
    assert answer.status_code == 401
    assert IMG not in answer.text
    assert str(escape(IMG)) in answer.text
    assert BREAKER not in answer.text
    audit = await env.panel.services.audit.list(action="login.failed", limit=5)
    page = (await env.admin.get("/admin/audit?action=login.failed")).text
    assert audit
    assert IMG not in page
    assert str(escape(IMG)).replace("&#34;", "\\&#34;") in page
