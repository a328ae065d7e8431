"""Every state-changing panel form needs the session's CSRF token: without it, or with another session's token,
the request is refused with 403 and nothing changes; with it, the change is made (and audited).

The cases are keyed by the route table: a new POST route under /admin fails this test until it has a case.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind
from headend.catalog.records import ChannelInput, SourceInput
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.http.policy import Policy
from headend.web.routes import web_routes
from tests.web.conftest import PASSWORD, Panel, PanelClient, panel_server, web_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

Form = dict[str, Any]
Case = Callable[["Env"], Awaitable[tuple[str, Form]]]


@dataclass
class Env:
    panel: Panel
    admin: PanelClient
    other: PanelClient  # another session (same role): its token must not work for `admin`
    counter: int = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    async with panel_server(web_settings(tmp_path_factory.mktemp("csrf") / "data")) as panel:
        yield Env(panel, await panel.login("admin"), await panel.login("admin"))


# -- objects the forms act on ----------------------------------------------------------------------------------------


async def _channel(env: Env) -> int:
    svc = env.panel.services
    record = await svc.channels.create_channel(ChannelInput(name=env.name("channel"), enabled=False))
    return record.id


async def _source(env: Env) -> tuple[int, int]:
    channel_id = await _channel(env)
    svc = env.panel.services
    source = await svc.channels.add_source(channel_id, SourceInput(kind="testpattern", label="a"))
    return channel_id, source.id


async def _package(env: Env) -> int:
    return (await env.panel.services.subscribers.create_package(PackageInput(name=env.name("package")))).id


async def _line(env: Env) -> int:
    svc = env.panel.services
    data = LineInput(username=env.name("line"), package_ids=(await _package(env),))
    return (await svc.subscribers.create_line(data))[0].id


async def _account(env: Env, role: Role) -> int:
    data = AdminInput(username=env.name(role.value), role=role, password="some-long-password-1")
    return (await env.panel.services.admin_accounts.create(data))[0].id


async def _epg(env: Env) -> int:
    data = EpgSourceInput(name=env.name("guide"), kind=EpgSourceKind.URL, location="http://127.0.0.1:9/guide.xml")
    return (await env.panel.services.epg.create_source(data)).id


async def _session(env: Env) -> str:
    svc = env.panel.services
    line_id = await _line(env)
    channel_id = await _channel(env)
    opened = svc.sessions.open(line_id=line_id, max_connections=1, channel_id=channel_id, device="1.2.3.4|x", kind="ts")
    return opened.id


# -- one case per POST route -----------------------------------------------------------------------------------------


async def _channel_new(env: Env) -> tuple[str, Form]:
    return "/admin/channels/new", {"name": env.name("new-channel"), "source": "testpattern:x", "enabled": "1"}


async def _channel_edit(env: Env) -> tuple[str, Form]:
    return f"/admin/channels/{await _channel(env)}/edit", {"name": env.name("renamed")}


async def _channel_delete(env: Env) -> tuple[str, Form]:
    return f"/admin/channels/{await _channel(env)}/delete", {}


async def _source_add(env: Env) -> tuple[str, Form]:
    return f"/admin/channels/{await _channel(env)}/sources", {"source": "testpattern:b"}


async def _source_action(env: Env) -> tuple[str, Form]:
    channel_id, source_id = await _source(env)
    return f"/admin/channels/{channel_id}/sources/{source_id}", {"action": "disable"}


async def _category_new(env: Env) -> tuple[str, Form]:
    return "/admin/categories/new", {"name": env.name("category"), "kind": "live"}


async def _category_delete(env: Env) -> tuple[str, Form]:
    category = await env.panel.services.channels.ensure_category("live", env.name("category"))
    return f"/admin/categories/{category.id}/delete", {}


async def _bouquet_new(env: Env) -> tuple[str, Form]:
    return "/admin/bouquets/new", {"name": env.name("bouquet")}


async def _bouquet(env: Env) -> int:
    return (await env.panel.services.subscribers.create_bouquet(env.name("bouquet"))).id


async def _bouquet_edit(env: Env) -> tuple[str, Form]:
    return f"/admin/bouquets/{await _bouquet(env)}/edit", {"name": env.name("bouquet"), "position": "3"}


async def _bouquet_delete(env: Env) -> tuple[str, Form]:
    return f"/admin/bouquets/{await _bouquet(env)}/delete", {}


async def _package_new(env: Env) -> tuple[str, Form]:
    form = {"name": env.name("package"), "duration_days": "30", "max_connections": "1", "allowed_outputs": "ts"}
    return "/admin/packages/new", form


async def _package_edit(env: Env) -> tuple[str, Form]:
    form = {"name": env.name("package"), "duration_days": "7", "max_connections": "2", "allowed_outputs": "ts"}
    return f"/admin/packages/{await _package(env)}/edit", form


async def _package_delete(env: Env) -> tuple[str, Form]:
    return f"/admin/packages/{await _package(env)}/delete", {}


async def _line_new(env: Env) -> tuple[str, Form]:
    return "/admin/lines/new", {"package_id": str(await _package(env)), "username": env.name("new-line")}


def _line_action(action: str, form: Form | None = None) -> Case:
    async def case(env: Env) -> tuple[str, Form]:
        return f"/admin/lines/{await _line(env)}/{action}", dict(form or {})

    return case


async def _session_end(env: Env) -> tuple[str, Form]:
    return f"/admin/sessions/{await _session(env)}/end", {}


async def _epg_new(env: Env) -> tuple[str, Form]:
    form = {"name": env.name("guide"), "kind": "url", "location": "http://127.0.0.1:9/g.xml", "enabled": "1"}
    return "/admin/epg/new", form


async def _epg_override(env: Env) -> tuple[str, Form]:
    return "/admin/epg/overrides", {"channel_id": str(await _channel(env)), "guide_id": "some.guide"}


def _epg_action(action: str) -> Case:
    async def case(env: Env) -> tuple[str, Form]:
        form = {"name": env.name("guide"), "location": "http://127.0.0.1:9/h.xml", "refresh_hours": "0"}
        return f"/admin/epg/{await _epg(env)}/{action}", form if action == "edit" else {}

    return case


def _account_case(base: str, role: Role, action: str, form: Form | None = None) -> Case:
    async def case(env: Env) -> tuple[str, Form]:
        if action == "new":
            return f"{base}/new", {"username": env.name("acct"), "role": role.value, "credits": "1"}
        return f"{base}/{await _account(env, role)}/{action}", dict(form or {})

    return case


async def _token_new(env: Env) -> tuple[str, Form]:
    return "/admin/tokens", {"name": env.name("token")}


async def _token_revoke(env: Env) -> tuple[str, Form]:
    account_id = env.admin.account.id if env.admin.account else 0
    record, _token = await env.panel.services.api_tokens.create(account_id, env.name("token"))
    return f"/admin/tokens/{record.id}/revoke", {}


async def _import(env: Env) -> tuple[str, Form]:
    return "/admin/import", {}  # multipart: see _send


CASES: dict[str, Case] = {
    "/admin/channels/new": _channel_new,
    "/admin/channels/{channel_id}/edit": _channel_edit,
    "/admin/channels/{channel_id}/delete": _channel_delete,
    "/admin/channels/{channel_id}/sources": _source_add,
    "/admin/channels/{channel_id}/sources/{source_id}": _source_action,
    "/admin/categories/new": _category_new,
    "/admin/categories/{category_id}/delete": _category_delete,
    "/admin/bouquets/new": _bouquet_new,
    "/admin/bouquets/{bouquet_id}/edit": _bouquet_edit,
    "/admin/bouquets/{bouquet_id}/delete": _bouquet_delete,
    "/admin/packages/new": _package_new,
    "/admin/packages/{package_id}/edit": _package_edit,
    "/admin/packages/{package_id}/delete": _package_delete,
    "/admin/lines/new": _line_new,
    "/admin/lines/{line_id}/enable": _line_action("enable"),
    "/admin/lines/{line_id}/disable": _line_action("disable"),
    "/admin/lines/{line_id}/reset-password": _line_action("reset-password"),
    "/admin/lines/{line_id}/renew": _line_action("renew"),
    "/admin/lines/{line_id}/edit": _line_action("edit", {"max_connections": "3", "allowed_outputs": "ts"}),
    "/admin/lines/{line_id}/ban": _line_action("ban", {"reason": "csrf test"}),
    "/admin/lines/{line_id}/unban": _line_action("unban"),
    "/admin/lines/{line_id}/delete": _line_action("delete"),
    "/admin/sessions/{session_id}/end": _session_end,
    "/admin/epg/new": _epg_new,
    "/admin/epg/overrides": _epg_override,
    "/admin/epg/{source_id}/edit": _epg_action("edit"),
    "/admin/epg/{source_id}/delete": _epg_action("delete"),
    "/admin/epg/{source_id}/refresh": _epg_action("refresh"),
    "/admin/import": _import,
    "/admin/tokens": _token_new,
    "/admin/tokens/{token_id}/revoke": _token_revoke,
}
for _base, _role in (("/admin/admins", Role.OPERATOR), ("/admin/resellers", Role.RESELLER)):
    CASES |= {
        f"{_base}/new": _account_case(_base, _role, "new"),
        f"{_base}/{{account_id}}/edit": _account_case(_base, _role, "edit", {"role": _role.value, "notes": "x"}),
        f"{_base}/{{account_id}}/credits": _account_case(_base, _role, "credits", {"delta": "5"}),
        f"{_base}/{{account_id}}/password": _account_case(_base, _role, "password"),
        f"{_base}/{{account_id}}/delete": _account_case(_base, _role, "delete"),
    }
NOT_STATE_CHANGING = {"/admin/login", "/admin/logout", "/admin/{rest:path}"}  # logout has its own test below


async def test_every_post_route_has_a_case() -> None:
    posts = {r.path for r in web_routes() if r.methods and "POST" in r.methods}
    assert posts - NOT_STATE_CHANGING == set(CASES)
    policies = {r.path: r.policy for r in web_routes() if r.methods and "POST" in r.methods}
    assert all(policies[path] is not Policy.PUBLIC for path in CASES)


async def _fingerprint(env: Env) -> tuple[object, ...]:
    """What a refused request must leave as it was."""
    svc = env.panel.services
    return (
        await svc.channels.catalog_version(),
        len(await svc.audit.list(limit=10_000)),
        await svc.admin_accounts.list(limit=1000),
        await svc.api_tokens.list(),
        [(s.id, s.line_id) for s in svc.sessions.sessions()],
        [(e.id, e.name, e.location, e.refresh_hours, e.priority, e.enabled) for e in await svc.epg.list_sources()],
        await svc.epg.list_overrides(),
    )


def _audit_count(fingerprint: tuple[object, ...]) -> int:
    count = fingerprint[1]
    assert isinstance(count, int)
    return count


async def _send(client: PanelClient, path: str, form: Form, csrf: str) -> int:
    if path == "/admin/import":
        data = {"csrf_token": csrf} if csrf else {}
        files = {"file": ("list.m3u", b"#EXTM3U\n#EXTINF:-1,Imported\ntestpattern:imp\n", "audio/x-mpegurl")}
        answer = await client.client.post(path, data=data, files=files)
        if answer.status_code == 303:  # the import runs in the background: wait for its end (and its audit entry)
            await _wait_done(client, answer.headers["location"])
        return answer.status_code
    return (await client.post(path, form, csrf=csrf)).status_code


async def _wait_done(client: PanelClient, job_page: str) -> None:
    for _ in range(200):
        if 'data-done="yes"' in (await client.get(job_page)).text:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job_page} did not finish")


@pytest.mark.parametrize("route", sorted(CASES))
async def test_form_needs_its_own_sessions_csrf_token(env: Env, route: str) -> None:
    path, form = await CASES[route](env)
    before = await _fingerprint(env)
    assert await _send(env.admin, path, form, csrf="") == 403, f"{route}: accepted without a token"
    assert await _send(env.admin, path, form, csrf=env.other.csrf) == 403, f"{route}: accepted another's token"
    assert await _fingerprint(env) == before, f"{route}: a refused request changed something"
    status = await _send(env.admin, path, form, csrf=env.admin.csrf)
    assert status in (200, 303), f"{route}: refused with the right token ({status})"
    audited = len(await env.panel.services.audit.list(limit=10_000))
    assert audited > _audit_count(before), f"{route}: accepted but nothing was audited"


async def test_logout_needs_the_token(env: Env) -> None:
    client = await env.panel.login("operator")
    assert (await client.post("/admin/logout", csrf="")).status_code == 403
    assert (await client.post("/admin/logout", csrf=env.other.csrf)).status_code == 403
    assert (await client.get("/admin/lines")).status_code == 200  # still logged in
    cookie = client.client.cookies["headend_admin"]
    answer = await client.post("/admin/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login"
    replay = env.panel.anonymous(cookies={"headend_admin": cookie})  # the old cookie no longer works
    again = await replay.get("/admin/lines")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/admin/login")


async def test_a_login_posted_from_another_site_is_refused(env: Env) -> None:
    account = env.panel.accounts["operator"]
    form = {"username": account.username, "password": PASSWORD}
    browser = env.panel.anonymous()
    forged = await browser.post("/admin/login", data=form, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert "headend_admin" not in browser.cookies  # no session was handed out
    same_site = await browser.post("/admin/login", data=form, headers={"Origin": env.panel.base_url})
    assert same_site.status_code == 303
    assert "headend_admin" in browser.cookies
