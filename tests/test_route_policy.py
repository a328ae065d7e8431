"""Every route, native or ASGI, declares who may call it, and the declaration agrees with the checked-in
access table (``tests/rbac_policy.py``, which ``tests/test_rbac_matrix.py`` checks against real calls).

A new route fails here until it has a line in that table; a route whose declared policy contradicts its line
(say, an OPERATOR route the table lets support use) fails too.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from headend.admin.principal import Role
from headend.app import PolicyRoute, routes
from headend.http.policy import Policy, roles_for
from headend.settings import Settings
from tests.conftest import running_headend
from tests.rbac_policy import IDENTITIES, POLICY

_ROLE_COLUMNS = {"support": Role.SUPPORT, "operator": Role.OPERATOR, "admin": Role.ADMIN}


def _allowed(policy: Policy) -> dict[str, set[str]]:
    """The outcomes each caller may get from a route with ``policy`` (hidden-404: another's object)."""
    every = set(IDENTITIES)
    if policy in (Policy.PUBLIC, Policy.TEST_ROUTES):
        return {who: {"allow", "hidden-404"} for who in every}
    if policy is Policy.SUBSCRIBER:
        return {who: {"allow"} if who == "subscriber" else {"deny-401"} for who in every}
    if policy is Policy.SEGMENT_TOKEN:
        return {who: {"allow"} if who == "subscriber" else {"deny-403"} for who in every}
    roles = roles_for(policy)
    assert roles is not None, policy
    allowed = {"anon": {"deny-401"}, "subscriber": {"deny-401"}}
    reseller = Role.RESELLER in roles
    allowed["r-own"] = {"allow"} if reseller else {"deny-403"}
    allowed["r-other"] = {"allow", "hidden-404"} if reseller else {"deny-403"}
    for column, role in _ROLE_COLUMNS.items():
        allowed[column] = {"allow", "hidden-404"} if role in roles else {"deny-403"}
    return allowed


async def test_every_route_declares_a_policy_that_agrees_with_the_table(settings: Settings) -> None:
    declared: dict[tuple[str, str], Policy] = {}
    for route in routes():
        assert isinstance(route, PolicyRoute), route
        assert isinstance(route.policy, Policy), route.path
        declared |= {(m, route.path): route.policy for m in route.methods or () if m != "HEAD"}
    async with running_headend(settings, []) as (headend, _ids):
        for native in headend.router.routes:
            assert isinstance(native.policy, Policy), native.path
            declared |= {(m, native.path): native.policy for m in native.methods if m != "HEAD"}
    assert sorted(set(declared) - set(POLICY)) == [], "routes missing from tests/rbac_policy.py"
    assert sorted(set(POLICY) - set(declared)) == [], "tests/rbac_policy.py lists routes that do not exist"
    contradictions = []
    for key, policy in sorted(declared.items()):
        allowed = _allowed(policy)
        for who, outcome in POLICY[key].items():
            if outcome not in allowed[who]:
                contradictions.append(f"{key[0]} {key[1]} ({policy.value}): {who} -> {outcome}")
    if declared[("GET", "/admin/{rest:path}")] is Policy.PUBLIC:  # the panel's catch-all answers 404 to all
        assert set(POLICY[("GET", "/admin/{rest:path}")].values()) == {"hidden-404"}
    assert contradictions == []


async def test_the_api_needs_credentials_even_on_loopback(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, _ids):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            for path in ("/api/v1/status", "/api/v1/channels"):
                assert (await client.get(path)).status_code == 401
                bad = await client.get(path, headers={"Authorization": "Bearer wrong"})
                assert bad.status_code == 401
                spoofed = await client.get(path, headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
                assert spoofed.status_code == 401
                good = await client.get(path, headers={"Authorization": "Bearer test-operator-token"})
                assert good.status_code == 200
            listing = (
                await client.get("/api/v1/channels", headers={"Authorization": "Bearer test-operator-token"})
            ).json()
            assert [c["name"] for c in listing["items"]] == ["Test 1"]
            assert listing["items"][0]["state"] == "stopped"
            assert listing["total"] == 1


async def test_test_routes_are_off_by_default(settings: Settings, loop_ts: Path) -> None:
    from headend import settings as settings_mod

    closed = settings_mod.replace(settings, delivery={"test_routes": False})
    async with running_headend(closed, [[str(loop_ts)]]) as (headend, ids):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}") as client:
            assert (await client.get(f"/stream/{ids[0]}.ts")).status_code == 404
            assert (await client.get(f"/stream/{ids[0]}.m3u8")).status_code == 404
