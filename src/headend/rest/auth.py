"""REST: logging in and out of the control plane, and who am I.

``POST /api/v1/auth/login`` checks an admin's username and password (throttled per client IP: 429 with
Retry-After, never an account lockout), sets the HttpOnly, SameSite=Strict session cookie and answers the
CSRF token every later state-changing cookie request must send in ``X-CSRF-Token``. Scripts use API tokens
(``Authorization: Bearer …``) instead and need no CSRF token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.responses import Response

from headend.admin.passwords import ADMIN_PASSWORD_MAX
from headend.admin.principal import Role
from headend.catalog.admin_models import ADMIN_USERNAME_MAX
from headend.http.control import check_origin, clear_session_cookie, login, set_session_cookie
from headend.http.policy import Policy
from headend.rest.framework import ApiRoute, Call, In, Out, route


class LoginIn(In):
    username: str = Field(min_length=1, max_length=ADMIN_USERNAME_MAX)
    password: str = Field(min_length=1, max_length=ADMIN_PASSWORD_MAX)


class LoginOut(Out):
    username: str
    role: Role
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every state-changing cookie request.")


class MeOut(Out):
    account_id: int
    username: str
    role: Role
    via: Literal["session", "token", "bootstrap"]
    csrf_token: str = Field(description="The session's CSRF token (empty for token calls).")


async def login_endpoint(call: Call) -> LoginOut:
    check_origin(call.request)
    data = call.body(LoginIn)
    user_agent = call.request.headers.get("user-agent", "")
    cookie, who = await login(call.svc, data.username, data.password, ip=call.ip, user_agent=user_agent)
    settings = call.svc.settings

    def set_cookie(response: Response) -> None:
        set_session_cookie(response, cookie, settings)

    call.on_response(set_cookie)
    return LoginOut(username=who.username, role=who.role, csrf_token=who.csrf_token)


async def logout(call: Call) -> None:
    who = call.who
    if who.via == "session":
        await call.svc.admin_sessions.end(who.session_id)
        await call.audit("logout", "admin", who.account_id)
    call.on_response(clear_session_cookie)


async def me(call: Call) -> MeOut:
    who = call.who
    return MeOut(
        account_id=who.account_id, username=who.username, role=who.role, via=who.via, csrf_token=who.csrf_token
    )


def routes() -> list[ApiRoute]:
    return [
        route("POST", "/api/v1/auth/login", login_endpoint, policy=Policy.PUBLIC, tag="auth",
              summary="Log in: sets the session cookie and answers the CSRF token", body=LoginIn,
              response=LoginOut, status=200),
        route("POST", "/api/v1/auth/logout", logout, policy=Policy.ACCOUNT, tag="auth",
              summary="Log out: ends the session"),
        route("GET", "/api/v1/auth/me", me, policy=Policy.ACCOUNT, tag="auth", summary="Who is calling",
              response=MeOut),
    ]  # fmt: skip


__all__ = ["routes"]
