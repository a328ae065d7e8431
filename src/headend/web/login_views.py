"""The panel's login form and logout button (the session half of ``headend.http.control``)."""

from __future__ import annotations

import math
import re
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from headend.admin.sessions import COOKIE_NAME
from headend.errors import AuthFailed, TooManyRequests
from headend.http.control import (
    PolicyRoute,
    check_origin,
    clear_session_cookie,
    client_ip,
    login,
    principal,
    services,
    set_session_cookie,
)
from headend.http.policy import Policy
from headend.web.common import audit
from headend.web.forms import read_form
from headend.web.routing import LOGIN_PATH, PanelRoute
from headend.web.templating import SECURITY_HEADERS, render

_SAFE_NEXT: Final = re.compile(r"/admin(?:[/?][A-Za-z0-9/_.~%=&?+-]*)?")
USER_AGENT_MAX: Final = 512


def safe_next(value: str) -> str:
    """Where to go after logging in: a panel path only (never another host: no open redirect)."""
    return value if _SAFE_NEXT.fullmatch(value) and not value.startswith(LOGIN_PATH) else "/admin"


async def login_page(request: Request) -> Response:
    svc = services(request)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie and await svc.admin_sessions.resolve(cookie) is not None:
        return RedirectResponse("/admin", status_code=303, headers=SECURITY_HEADERS)
    next_url = safe_next(request.query_params.get("next", "/admin"))
    return render(request, "login.html", {"next": next_url, "values": {}, "error": ""})


async def login_submit(request: Request) -> Response:
    check_origin(request)  # login CSRF: another site must not sign a browser in to an account of its choosing
    form = await read_form(request)
    username, password = form.text("username")[:200], form.raw("password")
    next_url = safe_next(form.text("next", "/admin"))
    agent = request.headers.get("user-agent", "")[:USER_AGENT_MAX]
    context = {"next": next_url, "values": {"username": username}}
    try:
        cookie, _who = await login(services(request), username, password, ip=client_ip(request), user_agent=agent)
    except TooManyRequests as exc:
        wait = max(1, math.ceil(exc.retry_after))
        message = f"Too many attempts from this address: try again in {wait} s."
        return render(
            request, "login.html", context | {"error": message}, status=429, headers={"retry-after": str(wait)}
        )
    except AuthFailed:
        return render(request, "login.html", context | {"error": "Wrong username or password."}, status=401)
    response = RedirectResponse(next_url, status_code=303, headers=SECURITY_HEADERS)
    set_session_cookie(response, cookie, services(request).settings)
    return response


async def logout(request: Request) -> Response:
    who = principal(request)
    if who.via == "session" and who.session_id:
        await services(request).admin_sessions.end(who.session_id)
        await audit(request, "logout", "admin", who.account_id)
    response = RedirectResponse(LOGIN_PATH, status_code=303, headers=SECURITY_HEADERS)
    clear_session_cookie(response)
    return response


def login_routes() -> list[PolicyRoute]:
    return [
        PanelRoute(LOGIN_PATH, login_page, policy=Policy.PUBLIC),
        PanelRoute(LOGIN_PATH, login_submit, policy=Policy.PUBLIC, methods=["POST"]),
        PanelRoute("/admin/logout", logout, policy=Policy.ACCOUNT, methods=["POST"]),
    ]


__all__ = ["login_routes", "safe_next"]
