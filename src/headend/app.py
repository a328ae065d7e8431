"""The control-plane ASGI app: THE route table of everything that is not media, and one error mapping.

Every route is a :class:`PolicyRoute` that declares who may call it; a test enumerates this table (and
the native media routes) and fails on any route without a policy.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headend import __version__
from headend.api import routes as client_api
from headend.errors import Forbidden, HeadendError
from headend.http.errors import body_for, status_for
from headend.http.policy import Policy
from headend.services import Services

Endpoint = Callable[[Request], Awaitable[Response]]


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default)


def _default(value: object) -> object:
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class PolicyRoute(Route):
    """A Starlette route that states who may call it and enforces it before the endpoint runs."""

    def __init__(self, path: str, endpoint: Endpoint, *, policy: Policy, methods: list[str] | None = None) -> None:
        self.policy = policy
        super().__init__(path, _guard(endpoint, policy), methods=methods or ["GET"], name=endpoint.__name__)


def _guard(endpoint: Endpoint, policy: Policy) -> Endpoint:
    async def guarded(request: Request) -> Response:
        if policy is Policy.OPERATOR:
            _require_operator(request)
        return await endpoint(request)

    guarded.__name__ = endpoint.__name__
    return guarded


def _require_operator(request: Request) -> None:
    token = services(request).settings.admin.api_token
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if not token or scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
        raise Forbidden("operator API token required (Authorization: Bearer …)")


def services(request: Request) -> Services:
    value = request.app.state.services
    assert isinstance(value, Services)
    return value


# -- endpoints ---------------------------------------------------------------------------------------------------
async def healthz(request: Request) -> Response:
    return JSON({"status": "ok", "version": __version__})


async def status(request: Request) -> Response:
    svc = services(request)
    channels = [asdict(s) for s in svc.hub.statuses()]
    return JSON({"version": __version__, "channels": channels})


async def list_channels(request: Request) -> Response:
    svc = services(request)
    running = {s.id: s for s in svc.hub.statuses()}
    rows = await svc.channels.list_channels()
    out = []
    for row in rows:
        item = asdict(row)
        live = running.get(row.id)
        item["state"] = live.state.value if live else "stopped"
        item["viewers"] = live.viewers + live.leases if live else 0
        out.append(item)
    return JSON({"channels": out})


# -- errors: the one mapping -------------------------------------------------------------------------------------
async def _headend_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HeadendError)
    return JSON(body_for(exc), status_code=status_for(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON({"error": {"type": "HTTPError", "message": exc.detail}}, status_code=exc.status_code)


def routes() -> list[PolicyRoute]:
    return [
        PolicyRoute("/healthz", healthz, policy=Policy.PUBLIC),
        PolicyRoute("/api/v1/status", status, policy=Policy.OPERATOR),
        PolicyRoute("/api/v1/channels", list_channels, policy=Policy.OPERATOR),
        *_client_api_routes(),
    ]


def _client_api_routes() -> list[PolicyRoute]:
    """The Xtream Codes client API (headend.api): line credentials in the query or form, checked by each
    endpoint, which answers failures with the contract's bodies, not the error mapping below. GET (HEAD is
    implied) and form POST (IPTV Smarters) on every one."""
    methods = ["GET", "POST"]
    return [
        PolicyRoute("/player_api.php", client_api.player_api, policy=Policy.SUBSCRIBER, methods=methods),
        PolicyRoute("/panel_api.php", client_api.panel_api, policy=Policy.SUBSCRIBER, methods=methods),
        PolicyRoute("/get.php", client_api.get_playlist, policy=Policy.SUBSCRIBER, methods=methods),
        PolicyRoute("/xmltv.php", client_api.xmltv_guide, policy=Policy.SUBSCRIBER, methods=methods),
    ]


def create_app(svc: Services) -> Starlette:
    app = Starlette(
        routes=list(routes()),
        exception_handlers={HeadendError: _headend_error, HTTPException: _http_error},
    )
    app.state.services = svc
    return app
