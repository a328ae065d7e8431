"""Panel pages: who may see each one (the route table's policies, resellers limited to their own lines), the
security headers on every HTML answer, HTML error pages, forms that re-render with field errors, the login
form's answers (401, 429), pages without the vendor libraries, and a phone-sized viewport.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser

from headend.catalog.records import ChannelInput
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.http.policy import ROLES, Policy
from headend.web import templating
from headend.web.routes import web_routes
from headend.web.templating import CSP
from tests.web.conftest import PASSWORD, Panel, PanelClient, open_session, panel_server, web_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROLE_NAMES = ("admin", "operator", "support", "reseller")


@dataclass
class Env:
    panel: Panel
    clients: dict[str, PanelClient]
    ids: dict[str, str]  # path parameter -> an existing object's id


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    async with panel_server(web_settings(tmp_path_factory.mktemp("pages") / "data")) as panel:
        svc = panel.services
        channel = await svc.channels.create_channel(ChannelInput(name="Page channel", enabled=False))
        bouquet = await svc.subscribers.create_bouquet("Page bouquet", [channel.id])
        package = await svc.subscribers.create_package(PackageInput(name="Page package", bouquet_ids=(bouquet.id,)))
        line, _ = await svc.subscribers.create_line(LineInput(username="page-line", package_ids=(package.id,)))
        clients = {name: await panel.login(name) for name in (*ROLE_NAMES, "reseller2")}
        job = await clients["operator"].client.post(
            "/admin/import",
            data={"csrf_token": clients["operator"].csrf, "dry_run": "1"},
            files={"file": ("a.m3u", b"#EXTM3U\n#EXTINF:-1,A\ntestpattern:a\n", "audio/x-mpegurl")},
        )
        ids = {
            "channel_id": str(channel.id),
            "bouquet_id": str(bouquet.id),
            "package_id": str(package.id),
            "line_id": str(line.id),
            "job_id": job.headers["location"].rsplit("/", 1)[1],
            "account_id": str(panel.accounts["reseller"].id),
            "path": "css/app.css",
            "rest": "no-such-page",
        }
        yield Env(panel, clients, ids)


def _get_routes() -> dict[str, Policy]:
    return {r.path: r.policy for r in web_routes() if r.methods and "GET" in r.methods}


def _concrete(path: str, ids: dict[str, str], role: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids[m.group(1)], path)


def _expected(policy: Policy, role: str, path: str) -> int:
    roles = ROLES.get(policy)
    if roles is None:  # public: the login page, static files, the 404 page
        return 404 if "{rest" in path else 200
    allowed = any(r.value == role for r in roles)
    if not allowed:
        return 403
    if role == "reseller" and path == "/admin":
        return 303  # resellers land on their lines
    if role == "reseller" and path == "/admin/lines/{line_id}":
        return 404  # not its line
    return 200


@pytest.mark.parametrize("role", ROLE_NAMES)
async def test_each_page_renders_for_the_roles_it_admits_and_refuses_the_others(env: Env, role: str) -> None:
    client = env.clients[role]
    for path, policy in _get_routes().items():
        if path == "/admin/login":
            continue  # logged-in clients are sent on; covered by the login tests
        answer = await client.get(_concrete(path, env.ids, role))
        assert answer.status_code == _expected(policy, role, path), f"{role} GET {path}: {answer.status_code}"
        if answer.headers.get("content-type", "").startswith("text/html"):
            assert answer.headers["content-security-policy"] == CSP, path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["referrer-policy"] == "same-origin", path
            assert "Traceback" not in answer.text


async def test_anonymous_callers_are_sent_to_the_login_page(env: Env) -> None:
    client = env.panel.anonymous()
    for path, policy in _get_routes().items():
        if ROLES.get(policy) is None:
            continue
        answer = await client.get(_concrete(path, env.ids, "anonymous"))
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/admin/login?next=/admin"), path
    polled = await client.get("/admin/dashboard/live", headers={"hx-request": "true"})
    assert polled.status_code == 401
    assert polled.headers["hx-redirect"].startswith("/admin/login")
    posted = await client.post("/admin/channels/new", data={"name": "x"})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/admin/login")


async def test_error_pages_are_html_with_the_security_headers(env: Env) -> None:
    support = env.clients["support"]
    for path, status in (("/admin/no/such/page", 404), ("/admin/channels/999999", 404), ("/admin/admins", 403)):
        answer = await support.get(path)
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["content-security-policy"] == CSP
        assert f'<p class="status">{status}</p>' in answer.text
    api = await support.get("/api/v1/no-such-thing")
    assert api.headers["content-type"].startswith("application/json")  # the API keeps its JSON errors


async def test_resellers_see_and_manage_only_their_own_lines(env: Env) -> None:
    reseller, other, admin = env.clients["reseller"], env.clients["reseller2"], env.clients["admin"]
    svc = env.panel.services
    package_id = (await svc.subscribers.get_package_by_name("Reseller package")).id
    credits = (await svc.admin_accounts.get(env.panel.accounts["reseller"].id)).credits
    created = await reseller.post("/admin/lines/new", {"package_id": str(package_id), "username": "sold-line"})
    assert created.status_code == 200
    assert 'id="line-password"' in created.text
    line = (await svc.subscribers.list_lines(search="sold-line"))[0]
    assert line.owner_id == env.panel.accounts["reseller"].id
    assert (await svc.admin_accounts.get(env.panel.accounts["reseller"].id)).credits == credits - 1
    mine = (await reseller.get("/admin/lines")).text
    assert "sold-line" in mine
    assert "page-line" not in mine
    assert "sold-line" not in (await other.get("/admin/lines")).text
    assert (await other.get(f"/admin/lines/{line.id}")).status_code == 404
    assert (await other.post(f"/admin/lines/{line.id}/disable")).status_code == 404
    assert (await reseller.post(f"/admin/lines/{line.id}/disable")).status_code == 303
    assert not (await svc.subscribers.get_line(line.id)).enabled
    assert (await reseller.post(f"/admin/lines/{line.id}/edit", {"max_connections": "9"})).status_code == 403
    assert "sold-line" in (await admin.get("/admin/lines")).text


async def test_support_reads_and_takes_only_the_limited_actions(env: Env) -> None:
    support = env.clients["support"]
    channel_page = (await support.get(f"/admin/channels/{env.ids['channel_id']}")).text
    assert 'id="channel-form"' not in channel_page
    assert "Page channel" in channel_page
    assert (await support.post(f"/admin/channels/{env.ids['channel_id']}/edit", {"name": "x"})).status_code == 403
    reset = await support.post(f"/admin/lines/{env.ids['line_id']}/reset-password")
    assert reset.status_code == 200
    assert 'id="line-password"' in reset.text
    assert reset.headers["cache-control"] == "no-store"
    assert (await support.post(f"/admin/lines/{env.ids['line_id']}/delete")).status_code == 403


async def test_forms_come_back_with_field_errors(env: Env) -> None:
    operator = env.clients["operator"]
    empty = await operator.post("/admin/channels/new", {"name": "", "source": ""})
    assert empty.status_code == 422
    assert 'id="err-name"' in empty.text
    assert "name must not be empty" in empty.text
    bad_source = await operator.post("/admin/channels/new", {"name": "Has a bad source", "source": "gopher://x"})
    assert bad_source.status_code == 422
    assert 'id="err-source"' in bad_source.text
    assert 'value="Has a bad source"' in bad_source.text  # what was typed stays in the form
    assert not await env.panel.services.channels.list_channels(search="Has a bad source")
    bad_line = await operator.post("/admin/lines/new", {"package_id": env.ids["package_id"], "username": "no spaces"})
    assert bad_line.status_code == 422
    assert 'id="err-username"' in bad_line.text
    number = await operator.post("/admin/packages/new", {"name": "P", "duration_days": "soon"})
    assert number.status_code == 422
    assert 'id="err-duration_days"' in number.text
    for answer in (empty, bad_source, bad_line, number):
        assert "Traceback" not in answer.text
        assert answer.headers["content-security-policy"] == CSP


async def test_login_answers_wrong_passwords_and_then_too_many_attempts(tmp_path: Path) -> None:
    settings = web_settings(tmp_path / "data", admin={"login_attempts_per_minute": 3})
    async with panel_server(settings) as panel:
        client = panel.anonymous()
        page = await client.get("/admin/login?next=/admin/lines")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CSP
        assert 'name="next" value="/admin/lines"' in page.text
        username = panel.accounts["admin"].username
        answers = [
            await client.post("/admin/login", data={"username": username, "password": "wrong password"})
            for _ in range(5)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        assert "Wrong username or password." in answers[0].text
        blocked = await client.post("/admin/login", data={"username": username, "password": PASSWORD})
        assert blocked.status_code == 429
        assert "Too many attempts" in blocked.text
        assert int(blocked.headers["retry-after"]) >= 1
        assert blocked.headers["content-security-policy"] == CSP


async def test_login_sends_on_to_a_panel_page_only(env: Env) -> None:
    client = env.panel.anonymous()
    username = env.panel.accounts["operator"].username
    answer = await client.post(
        "/admin/login", data={"username": username, "password": PASSWORD, "next": "//evil.example/admin"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    again = env.panel.anonymous()
    answer = await again.post("/admin/login", data={"username": username, "password": PASSWORD, "next": "/admin/epg"})
    assert answer.headers["location"] == "/admin/epg"


async def test_pages_say_clearly_when_the_vendor_libraries_are_missing(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = env.clients["operator"]
    normal = (await operator.get(f"/admin/channels/{env.ids['channel_id']}")).text
    assert 'id="vendor-missing"' not in normal, "run scripts/ensure-web-assets before the tests"
    assert "/admin/static/vendor/htmx.min.js" in normal
    assert "/admin/static/vendor/hls.min.js" in normal
    monkeypatch.setattr(templating, "VENDOR_DIR", tmp_path / "empty")  # as if ensure-web-assets never ran
    for path in ("/admin", f"/admin/channels/{env.ids['channel_id']}", "/admin/lines"):
        answer = await operator.get(path)
        assert answer.status_code == 200
        assert 'id="vendor-missing"' in answer.text
        assert "scripts/ensure-web-assets" in answer.text
        assert "vendor/htmx.min.js" not in answer.text
        assert "vendor/hls.min.js" not in answer.text
    created = await operator.post("/admin/categories/new", {"name": "Works without scripts", "kind": "live"})
    assert created.status_code == 303  # plain forms keep working


async def test_static_files_stay_inside_the_static_directory(env: Env) -> None:
    client = env.panel.anonymous()
    css = await client.get("/admin/static/css/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    js = await client.get("/admin/static/js/app.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "X-CSRF-Token" in js.text
    for path in (
        "/admin/static/%2e%2e/templating.py",
        "/admin/static/..%2ftemplating.py",
        "/admin/static/vendor/.lock-sha256",
    ):
        raw = httpx.URL(env.panel.base_url + path)
        assert (await client.get(raw)).status_code == 404, path


async def test_phone_viewport(env: Env, browser: Browser) -> None:
    session = await open_session(browser, env.panel.base_url, viewport=(390, 844), mobile=True)
    await session.login(env.panel.accounts["operator"].username)
    for name, path in (
        ("dashboard", "/admin"),
        ("lines", "/admin/lines"),
        ("line", f"/admin/lines/{env.ids['line_id']}"),
    ):
        await session.goto(path)
        width = await session.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is wider than the phone's screen: {width} px"
        viewport = await session.page.evaluate("() => document.querySelector('meta[name=viewport]').content")
        assert "width=device-width" in viewport
        path_png = await session.screenshot(f"mobile-{name}")
        assert path_png.stat().st_size > 0
        assert await session.csp_violations() == []
    await session.context.close()
