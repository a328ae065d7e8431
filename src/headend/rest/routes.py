"""Every REST operation, in one list for the route table, and the OpenAPI document built from it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from headend.http.control import JSON, PolicyRoute
from headend.http.policy import Policy
from headend.rest import accounts, audit, auth, channels, epg, lines, packages, sessions, status, tokens
from headend.rest.framework import ApiRoute
from headend.rest.openapi import document

OPENAPI_PATH = "/api/v1/openapi.json"


def api_routes() -> list[ApiRoute]:
    """The REST operations (what the OpenAPI document describes)."""
    families = (auth, status, channels, packages, lines, accounts, tokens, epg, sessions, audit)
    return [operation for family in families for operation in family.routes()]


def routes() -> list[PolicyRoute]:
    """The REST operations and the public OpenAPI document."""
    return [*api_routes(), PolicyRoute(OPENAPI_PATH, openapi_json, policy=Policy.PUBLIC)]


async def openapi_json(request: Request) -> Response:
    state = request.app.state
    cached = getattr(state, "openapi", None)
    if not isinstance(cached, dict):
        cached = state.openapi = document(request.app.routes)
    return JSON(cached)


__all__ = ["OPENAPI_PATH", "api_routes", "openapi_json", "routes"]
