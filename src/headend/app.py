"""The control-plane ASGI app: THE route table of everything that is not media, and one error mapping.

Every route is a :class:`~headend.http.control.PolicyRoute` that declares who may call it (the guard in
``headend.http.control`` enforces the admin policies); a test enumerates this table (and the native media
routes) and fails on any route without a policy, and ``tests/test_rbac_matrix.py`` checks what every kind of
caller gets from each of them.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from headend import __version__
from headend.api import routes as client_api
from headend.errors import HeadendError
from headend.http.control import JSON, PolicyRoute
from headend.http.errors import body_for, headers_for, status_for
from headend.http.policy import Policy
from headend.rest import routes as rest
from headend.rest.status import ProcessMeter
from headend.services import Services
from headend.web.routes import web_routes


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok", "version": __version__})


# -- errors: the one mapping -------------------------------------------------------------------------------------
async def _headend_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HeadendError)
    return JSON(body_for(exc), status_code=status_for(exc), headers=headers_for(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    body = {"error": {"type": "HTTPError", "message": exc.detail}}
    return JSON(body, status_code=exc.status_code, headers=exc.headers)


# -- the route table ---------------------------------------------------------------------------------------------
def routes() -> list[PolicyRoute]:
    return [
        PolicyRoute("/healthz", healthz, policy=Policy.PUBLIC),
        *rest.routes(),
        *_client_api_routes(),
        PolicyRoute("/epg.xml", client_api.epg_xml, policy=Policy.OPERATOR),  # every enabled channel's XMLTV
        *web_routes(),  # the admin panel under /admin (HTML pages, static files, its 404 page last)
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
    app.state.process_meter = ProcessMeter.now()
    app.state.background_tasks = set[asyncio.Task[None]]()
    return app


async def close_background_tasks(app: Starlette) -> None:
    """Cancel the work routes started in the background (EPG refreshes, M3U imports) and wait for it, so
    nothing still writes when the database closes. Each job records its own cancellation."""
    tasks: set[asyncio.Task[None]] = app.state.background_tasks
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["PolicyRoute", "close_background_tasks", "create_app", "routes"]
