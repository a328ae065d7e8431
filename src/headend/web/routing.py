"""Panel routes: :class:`PanelRoute` (a PolicyRoute whose errors are HTML pages), static files, the 404 page.

Under ``/admin`` an error is a page, not the API's JSON: no credentials (401) sends the browser to the login
page (htmx requests get ``HX-Redirect``), 403 and 404 render an error page with the same security headers as
every page, and any other Headend error shows its message (never a stack trace). ``/api`` keeps the JSON
error mapping.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import request_response

from headend.errors import AuthFailed, HeadendError, NotFound
from headend.http.control import PolicyRoute
from headend.http.errors import headers_for, status_for
from headend.http.policy import Policy
from headend.web.templating import SECURITY_HEADERS, STATIC_DIR, render

Endpoint = Callable[[Request], Awaitable[Response]]

LOGIN_PATH: Final = "/admin/login"
STATIC_PREFIX: Final = "/admin/static/"
_STATIC_TYPES: Final = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}


class PanelRoute(PolicyRoute):
    """A PolicyRoute for panel pages: the same guard (authentication, role, CSRF), errors answered in HTML."""

    def __init__(
        self, path: str, endpoint: Endpoint, *, policy: Policy, methods: list[str] | None = None, activity: bool = True
    ) -> None:
        super().__init__(path, endpoint, policy=policy, methods=methods, activity=activity)
        self.app = request_response(_html_errors(self.endpoint))  # self.endpoint: the guarded endpoint


def _html_errors(endpoint: Endpoint) -> Endpoint:
    async def answered(request: Request) -> Response:
        try:
            return await endpoint(request)
        except HeadendError as exc:
            return error_page(request, exc)
        finally:
            await request.close()  # uploaded files' temporary storage (Starlette leaves that to the app)

    answered.__name__ = endpoint.__name__
    return answered


def error_page(request: Request, exc: HeadendError) -> Response:
    """The HTML answer to an error raised while serving a panel route."""
    if isinstance(exc, AuthFailed) and request.url.path != LOGIN_PATH:
        return _to_login(request)
    status = status_for(exc)
    headers = {k: v for k, v in headers_for(exc).items() if k != "www-authenticate"}
    return render(request, "error.html", {"status": status, "message": exc.message}, status=status, headers=headers)


def _to_login(request: Request) -> Response:
    target = request.url.path
    if request.url.query and request.method == "GET":
        target += "?" + request.url.query
    url = f"{LOGIN_PATH}?next={quote(target, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={**SECURITY_HEADERS, "hx-redirect": url})
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


async def static_file(request: Request) -> Response:
    """A file under ``web/static`` (the path may not leave it). Vendor libraries are long-cached."""
    relative = str(request.path_params["path"])
    base = STATIC_DIR.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file() or target.name.startswith("."):
        raise NotFound("no such file")
    media_type = _STATIC_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = {"x-content-type-options": "nosniff", "cache-control": "public, max-age=300"}
    return FileResponse(target, media_type=media_type, headers=headers)


async def not_found(request: Request) -> Response:
    """Any other path under /admin (``/admin/`` is the dashboard's)."""
    if not request.path_params["rest"] and request.method == "GET":
        return RedirectResponse("/admin", status_code=308, headers=SECURITY_HEADERS)
    raise NotFound("there is no such page")


def routing_routes() -> list[PolicyRoute]:
    """The static files and the catch-all 404 page (must come after every other /admin route)."""
    return [
        PanelRoute(STATIC_PREFIX + "{path:path}", static_file, policy=Policy.PUBLIC),
        PanelRoute("/admin/{rest:path}", not_found, policy=Policy.PUBLIC, methods=["GET", "POST"]),
    ]


__all__ = ["LOGIN_PATH", "PanelRoute", "error_page", "routing_routes"]
