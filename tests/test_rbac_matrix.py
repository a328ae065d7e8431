"""The RBAC matrix (reliability.md T14): every route of the app and every native media route, called by every
kind of caller, must answer what ``tests/rbac_policy.py`` says — and a route missing from that table fails.

Path parameters point at real objects made for the test: reads use shared objects; every state-changing
call gets fresh ones (so an allowed DELETE by the operator does not turn the admin's call into a 404). For a
reseller, "own" objects belong to the calling reseller and "other" objects to a second reseller. Bodies are
valid, so an allowed call succeeds (2xx) rather than failing validation.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.app import routes as app_routes
from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind
from headend.catalog.records import CategoryKind, ChannelInput, SourceInput
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.services import Services
from headend.settings import Settings
from tests.rbac_policy import IDENTITIES, POLICY
from tests.rest.env import ADMIN_PASSWORD, Account, ApiEnv, api_headend

_names = itertools.count(1)
_PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")  # {name} or Starlette's {name:path}
BOGUS_USER, BOGUS_PASS = "nobody", "wrong-pass-99"


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@dataclass
class World:
    env: ApiEnv
    accounts: dict[str, Account]  # r1 (the calling reseller), r2 (the other), support, operator, admin, login
    channel_id: int
    source_id: int
    bouquet_id: int
    package_id: int
    epg_source_id: int
    lines: dict[str, int]  # r1, r2: lines they own
    subscriber: tuple[str, str]  # a line's username and password, entitled to channel_id
    job_id: str = ""  # an M3U import job of the panel

    @property
    def svc(self) -> Services:
        return self.env.svc

    def owner(self, identity: str) -> str:
        """Whose object an identity is pointed at: the other reseller's for r-other, else the caller's."""
        return "r2" if identity == "r-other" else "r1"

    def token_owner(self, identity: str) -> Account:
        if identity in ("support", "operator", "admin"):
            return self.accounts[identity]
        return self.accounts[self.owner(identity)]

    async def line(self, owner: str) -> int:
        data = LineInput(username=_name("line"), package_ids=(self.package_id,), owner_id=self.accounts[owner].id)
        return (await self.svc.subscribers.create_line(data))[0].id


# -- building the world -------------------------------------------------------------------------------------------


async def build_world(env: ApiEnv) -> World:
    svc = env.svc
    channel_id = env.channel_ids[0]
    bouquet = await svc.subscribers.create_bouquet("Main", [channel_id])
    package = await svc.subscribers.create_package(
        PackageInput(name="Basic", bouquet_ids=(bouquet.id,), max_connections=20, credit_cost=1)
    )
    accounts = {
        "r1": await env.account("reseller", credits=1000, packages=[package.id]),
        "r2": await env.account("reseller", credits=1000, packages=[package.id]),
        "support": await env.account("support"),
        "operator": await env.account("operator"),
        "admin": await env.account("admin"),
        "login": await env.account("support"),
    }
    source = await svc.channels.add_source(channel_id, SourceInput(kind="testpattern", label="Backup"))
    epg = await svc.epg.create_source(
        EpgSourceInput(name="Guide", kind=EpgSourceKind.FILE, location="guide.xml", refresh_hours=0)
    )
    sub_line, password = await svc.subscribers.create_line(
        LineInput(username="viewer", password="viewer-pass-1", package_ids=(package.id,), max_connections=20)
    )
    env.secrets.append(password)
    world = World(
        env, accounts, channel_id, source.id, bouquet.id, package.id, epg.id, {}, (sub_line.username, password)
    )
    world.lines = {"r1": await world.line("r1"), "r2": await world.line("r2")}
    async with env.client(accounts["admin"].token) as admin:
        upload = {"file": ("list.m3u", b"#EXTM3U\n#EXTINF:-1,Imported\nhttp://127.0.0.1:9/x.ts\n", "audio/x-mpegurl")}
        started = await admin.post("/admin/import", files=upload, data={"dry_run": "on"})
        assert started.status_code == 303, started.text
        world.job_id = started.headers["location"].rsplit("/", 1)[-1]
    return world


# -- path parameters: shared objects for reads, fresh ones for changes -------------------------------------------


@dataclass(frozen=True, slots=True)
class Ask:
    """What a path-parameter factory knows: the world, the caller, the route, and the parameters made so far."""

    w: World
    who: str
    method: str
    path: str
    made: dict[str, str]

    @property
    def fresh(self) -> bool:
        return self.method != "GET"


Factory = Callable[[Ask], Awaitable[str]]


async def _channel(a: Ask) -> str:
    if not a.fresh:
        return str(a.w.channel_id)
    return str((await a.w.svc.channels.create_channel(ChannelInput(name=_name("ch")))).id)


async def _source(a: Ask) -> str:
    if "/epg" in a.path:
        return await _epg_source(a)
    if not a.fresh:
        return str(a.w.source_id)
    channel_id = int(a.made.get("channel_id", a.w.channel_id))
    return str((await a.w.svc.channels.add_source(channel_id, SourceInput(kind="testpattern"))).id)


async def _category(a: Ask) -> str:
    return str((await a.w.svc.channels.ensure_category(CategoryKind.LIVE, _name("cat"))).id)


async def _bouquet(a: Ask) -> str:
    return str((await a.w.svc.subscribers.create_bouquet(_name("b"))).id) if a.fresh else str(a.w.bouquet_id)


async def _package(a: Ask) -> str:
    if not a.fresh:
        return str(a.w.package_id)
    return str((await a.w.svc.subscribers.create_package(PackageInput(name=_name("p")))).id)


async def _line(a: Ask) -> str:
    owner = a.w.owner(a.who)
    return str(await a.w.line(owner) if a.fresh else a.w.lines[owner])


async def _account(a: Ask) -> str:
    role = Role.RESELLER if "/resellers" in a.path else Role.SUPPORT
    if not a.fresh:
        return str(a.w.accounts["r2" if role is Role.RESELLER else "support"].id)
    account, _ = await a.w.svc.admin_accounts.create(AdminInput(username=_name("acct"), role=role))
    return str(account.id)


async def _token(a: Ask) -> str:
    record, token = await a.w.svc.api_tokens.create(a.w.token_owner(a.who).id, _name("t"))
    a.w.env.secrets.append(token)
    return str(record.id)


async def _session(a: Ask) -> str:
    line_id = a.w.lines[a.w.owner(a.who)]
    session = a.w.svc.sessions.open(
        line_id=line_id, max_connections=100, channel_id=a.w.channel_id, device=_name("10.9.9.9|ua"), kind="hls"
    )
    return str(session.id)


async def _epg_source(a: Ask) -> str:
    if not a.fresh:
        return str(a.w.epg_source_id)
    data = EpgSourceInput(name=_name("epg"), kind=EpgSourceKind.FILE, location="missing.xml", refresh_hours=0)
    return str((await a.w.svc.epg.create_source(data)).id)


async def _job(a: Ask) -> str:
    return a.w.job_id


async def _static(a: Ask) -> str:
    return "css/app.css"


async def _nowhere(a: Ask) -> str:
    return "no-such-page"


FACTORIES: dict[str, Factory] = {
    "channel_id": _channel, "source_id": _source, "category_id": _category, "bouquet_id": _bouquet,
    "package_id": _package, "line_id": _line, "reseller_id": _account, "admin_id": _account,
    "account_id": _account, "token_id": _token, "session_id": _session, "job_id": _job, "path": _static,
    "rest": _nowhere,
}  # fmt: skip


# -- bodies: valid, so an allowed call succeeds ------------------------------------------------------------------

BODIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("POST", "/api/v1/auth/login"): lambda w: {"username": w.accounts["login"].username, "password": ADMIN_PASSWORD},
    ("POST", "/api/v1/channels"): lambda w: {"name": _name("ch")},
    ("PATCH", "/api/v1/channels/{channel_id}"): lambda w: {"name": _name("ch")},
    ("POST", "/api/v1/channels/{channel_id}/sources"): lambda w: {"kind": "testpattern", "label": "x"},
    ("PATCH", "/api/v1/sources/{source_id}"): lambda w: {"enabled": False},
    ("POST", "/api/v1/profiles"): lambda w: {"name": _name("prof")},
    ("POST", "/api/v1/categories"): lambda w: {"name": _name("cat")},
    ("POST", "/api/v1/bouquets"): lambda w: {"name": _name("b")},
    ("PATCH", "/api/v1/bouquets/{bouquet_id}"): lambda w: {"name": _name("b")},
    ("PUT", "/api/v1/bouquets/{bouquet_id}/channels"): lambda w: {"channel_ids": [w.channel_id]},
    ("POST", "/api/v1/packages"): lambda w: {"name": _name("p")},
    ("PATCH", "/api/v1/packages/{package_id}"): lambda w: {"name": _name("p")},
    ("POST", "/api/v1/lines"): lambda w: {"package_id": w.package_id},
    ("PATCH", "/api/v1/lines/{line_id}"): lambda w: {"notes": "checked"},
    ("POST", "/api/v1/lines/{line_id}/renew"): lambda w: {},
    ("POST", "/api/v1/lines/{line_id}/ban"): lambda w: {"reason": "matrix"},
    ("POST", "/api/v1/resellers"): lambda w: {"username": _name("shop")},
    ("PATCH", "/api/v1/resellers/{reseller_id}"): lambda w: {"notes": "checked"},
    ("POST", "/api/v1/resellers/{reseller_id}/credits"): lambda w: {"delta": 1},
    ("POST", "/api/v1/admins"): lambda w: {"username": _name("adm"), "role": "support"},
    ("PATCH", "/api/v1/admins/{admin_id}"): lambda w: {"notes": "checked"},
    ("POST", "/api/v1/admins/{admin_id}/password"): lambda w: {},
    ("POST", "/api/v1/tokens"): lambda w: {"name": "matrix"},
    ("POST", "/api/v1/epg/sources"): lambda w: {"name": _name("epg"), "kind": "file", "location": "guide.xml"},
    ("PATCH", "/api/v1/epg/sources/{source_id}"): lambda w: {"priority": 7},
    ("PUT", "/api/v1/channels/{channel_id}/epg"): lambda w: {"guide_id": "guide.one"},
}


FORMS: dict[tuple[str, str], Callable[[World], dict[str, str]]] = {
    ("POST", "/admin/login"): lambda w: {"username": w.accounts["login"].username, "password": ADMIN_PASSWORD},
    ("POST", "/admin/channels/new"): lambda w: {"name": _name("ch")},
}
"""Panel forms (every other panel POST sends a harmless form: validation failures count as allowed)."""


# -- one call ----------------------------------------------------------------------------------------------------


def _auth(w: World, who: str) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters of an identity."""
    if who == "anon":
        return {}, {}
    if who == "subscriber":
        username, password = w.subscriber
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}, {"username": username, "password": password}
    account = w.accounts["r1" if who.startswith("r-") else who]
    return {"Authorization": f"Bearer {account.token}"}, {}


async def _media_params(w: World, who: str, client: httpx.AsyncClient, path: str) -> dict[str, str]:
    """Path parameters of a native media route: a real line's credentials (or bogus ones), segment numbers
    and tokens taken from a real playlist."""
    username, password = w.subscriber if who == "subscriber" else (BOGUS_USER, BOGUS_PASS)
    params = {"username": username, "password": password, "stream_id": str(w.channel_id)}
    params["channel_id"] = str(w.channel_id)
    if path == "/stream/{channel_id}/{seq}.ts":
        playlist = (await client.get(f"/stream/{w.channel_id}.m3u8")).text
        params["seq"] = _segments(playlist)[0].rsplit("/", 1)[-1].removesuffix(".ts")
    if path == "/admin/preview/{channel_id}/{seq}.ts":
        admin = {"Authorization": f"Bearer {w.accounts['admin'].token}"}
        playlist = (await client.get(f"/admin/preview/{w.channel_id}.m3u8", headers=admin)).text
        params["seq"] = _segments(playlist)[0].rsplit("/", 1)[-1].removesuffix(".ts")
    if path.startswith("/hls/"):
        params["token"], params["seq"] = "bogus-token", "1"
        if who == "subscriber":
            playlist = (await client.get(f"/live/{username}/{password}/{w.channel_id}.m3u8")).text
            found = re.search(r"/hls/([^/]+)/\d+/(\d+)\.ts", playlist)
            assert found is not None, playlist
            params["token"], params["seq"] = found.group(1), found.group(2)
    return params


def _segments(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def call(w: World, who: str, method: str, path: str, client: httpx.AsyncClient) -> str:
    headers, query = _auth(w, who)
    names = _PARAM.findall(path)
    params: dict[str, str] = {}
    if path.startswith(("/api/", "/admin")) and not path.startswith("/admin/preview/"):
        for name in names:
            params[name] = await FACTORIES[name](Ask(w, who, method, path, params))
    elif names:
        params = await _media_params(w, who, client, path)
    url = _PARAM.sub(lambda m: params[m.group(1)], path)
    body = BODIES.get((method, path))
    form = FORMS.get((method, path), lambda w: {"checked": "1"}) if path.startswith("/admin") else None
    request = client.build_request(
        method,
        url,
        params=query,
        headers=headers,
        json=body(w) if body else None,
        data=form(w) if form and method == "POST" else None,
    )
    response = await client.send(request, stream=True)
    try:
        return await _classify(path, response)
    finally:
        await response.aclose()
        client.cookies.clear()  # a login's session cookie must not follow the next caller


async def _classify(path: str, response: httpx.Response) -> str:
    status = response.status_code
    if path in ("/player_api.php", "/panel_api.php") and status == 200:
        body = await response.aread()
        if b'"auth":0' in body:  # the contract's answer to bad or missing credentials
            return "deny-401"
    if path.startswith("/admin"):
        return _classify_page(response)
    if 200 <= status < 300:
        return "allow"
    return {401: "deny-401", 403: "deny-403", 404: "hidden-404"}.get(status, f"unexpected-{status}")


def _classify_page(response: httpx.Response) -> str:
    """A panel page: no credentials send the browser to the login page; a form that reached its handler but
    did not validate (400/409/413/422) still got past access control."""
    status = response.status_code
    if status in (302, 303) and response.headers.get("location", "").startswith("/admin/login?next="):
        return "deny-401"  # (a plain redirect to the login page is what a successful logout answers)
    if 200 <= status < 400 or status in (400, 409, 413, 422):
        return "allow"
    return {401: "deny-401", 403: "deny-403", 404: "hidden-404"}.get(status, f"unexpected-{status}")


# -- the test ----------------------------------------------------------------------------------------------------


def route_table(env: ApiEnv) -> list[tuple[str, str]]:
    """Every (method, path) the server answers: the app's route table and the native media routes (HEAD is
    implied by GET and not listed)."""
    found = []
    for route in app_routes():
        found += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    for native in env.headend.router.routes:
        found += [(m, native.path) for m in sorted(native.methods) if m != "HEAD"]
    return found


@pytest.mark.slow
async def test_every_route_answers_every_caller_as_the_table_says(settings: Settings, loop_ts: Path) -> None:
    async with api_headend(settings, [[str(loop_ts)]]) as env:
        world = await build_world(env)
        table = route_table(env)
        assert len(table) == len(set(table)), "a route is declared twice"
        missing = sorted(set(table) - set(POLICY))
        assert not missing, f"routes missing from tests/rbac_policy.py: {missing}"
        stale = sorted(set(POLICY) - set(table))
        assert not stale, f"tests/rbac_policy.py lists routes the server does not have: {stale}"

        mismatches = []
        async with env.client() as client:
            for method, path in table:
                for who in IDENTITIES:
                    got = await call(world, who, method, path, client)
                    expected = POLICY[(method, path)][who]
                    if got != expected:
                        mismatches.append(f"{method} {path} as {who}: expected {expected}, got {got}")
        assert not mismatches, "\n".join(mismatches)
        assert len(table) * len(IDENTITIES) >= 600
