"""A running Headend for the REST tests, and clients acting as accounts of each role.

Accounts are made through the API itself (the bootstrap token creates them and their API tokens), so every
helper here also exercises the routes it calls. Passwords and tokens handed out are remembered: the tests
check none of them reaches the audit log or the server log.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from headend import settings as settings_mod
from headend.runtime import Headend
from headend.services import Services
from headend.settings import Settings
from headend.types import ChannelId
from tests.conftest import running_headend

BOOTSTRAP = "test-operator-token"
ADMIN_PASSWORD = "correct-horse-battery-9"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    role: str
    password: str
    token: str


@dataclass
class ApiEnv:
    headend: Headend
    channel_ids: list[ChannelId]
    secrets: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.headend.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def svc(self) -> Services:
        assert self.headend.services is not None
        return self.headend.services

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """A client on the server; with ``token``, every request sends it as a bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30, **kwargs)

    def bootstrap(self) -> httpx.AsyncClient:
        return self.client(BOOTSTRAP)

    async def account(
        self,
        role: str,
        *,
        credits: int = 0,
        packages: Sequence[int] = (),
        username: str | None = None,
    ) -> Account:
        """A new account of ``role`` (made by the bootstrap token) with a fresh API token of its own."""
        name = username or unique(role)
        async with self.bootstrap() as admin:
            made = await admin.post(
                "/api/v1/admins",
                json={"username": name, "role": role, "password": ADMIN_PASSWORD, "credits": credits,
                      "packages": list(packages)},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            account_id = made.json()["account"]["id"]
            issued = await admin.post("/api/v1/tokens", json={"name": f"{name} token", "account_id": account_id})
            assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        self.secrets += [token]
        return Account(account_id, name, role, ADMIN_PASSWORD, token)

    async def post_ok(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        result = response.json()
        assert isinstance(result, dict)
        return result


@contextlib.asynccontextmanager
async def api_headend(settings: Settings, channels: Sequence[Sequence[str]] = ()) -> AsyncIterator[ApiEnv]:
    """Headend with ``channels`` (see ``running_headend``). The EPG schedule is off: tests create URL sources
    that must never be fetched (nothing leaves loopback)."""
    settings = settings_mod.replace(settings, epg={"refresh": False})
    async with running_headend(settings, channels) as (headend, ids):
        yield ApiEnv(headend, ids, secrets=[ADMIN_PASSWORD])


async def audit_entries(env: ApiEnv, **params: Any) -> list[dict[str, Any]]:
    async with env.bootstrap() as admin:
        response = await admin.get("/api/v1/audit", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert isinstance(items, list)
    return items
