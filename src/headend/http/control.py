"""The control plane's request plumbing: JSON answers, routes that declare a policy, and the guard.

Every control-plane route is a :class:`PolicyRoute`. For the admin policies (``roles_for(policy)`` is not
None) the guard authenticates EVERY call, loopback included (reliability.md F3, F11, F17: a network
location never grants access):

1. a session cookie (:data:`~headend.admin.sessions.COOKIE_NAME`), else
2. ``Authorization: Bearer X``: the bootstrap token (``admin.api_token``, acting as an admin) or an API token.

No credentials, or bad ones → :class:`~headend.errors.AuthFailed` (401, ``WWW-Authenticate: Bearer``); a role
the policy does not admit → 403. State-changing requests (not GET/HEAD/OPTIONS) are refused with 403 when they
come from another origin (an ``Origin`` header that does not match ``Host``) and, when authenticated by the
session cookie (an ambient credential a browser attaches by itself), unless they carry the session's CSRF token
in ``X-CSRF-Token`` or a ``csrf_token`` form field. Bearer requests need no CSRF token: nothing attaches a bearer
token by itself. The principal is left on ``request.state.principal`` (see :func:`principal`).

:func:`login`, :func:`set_session_cookie` and :func:`clear_session_cookie` are the session half, shared by the
REST API (``/api/v1/auth/login``) and the web panel's HTML login form.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headend.admin.principal import Principal, Role
from headend.admin.sessions import COOKIE_NAME
from headend.errors import AuthFailed, Forbidden, TooManyRequests
from headend.http.policy import Policy, roles_for
from headend.services import Services
from headend.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
BOOTSTRAP_USERNAME: Final = "bootstrap-token"
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


class JSON(Response):
    """A JSON response (orjson; enums as their values)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=_default)
        except TypeError:  # e.g. a lone surrogate in echoed text: escape it rather than fail
            return json.dumps(content, default=_default, ensure_ascii=True).encode("ascii")


def _default(value: object) -> object:
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class PolicyRoute(Route):
    """A Starlette route that states who may call it and enforces it before the endpoint runs."""

    def __init__(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        policy: Policy,
        methods: list[str] | None = None,
        name: str | None = None,
        activity: bool = True,
    ) -> None:
        """``activity=False``: a route pages call by themselves (polling); its calls do not extend an idle
        admin session."""
        self.policy = policy
        super().__init__(
            path, _guard(endpoint, policy, activity), methods=methods or ["GET"], name=name or endpoint.__name__
        )


def _guard(endpoint: Endpoint, policy: Policy, activity: bool) -> Endpoint:
    roles = roles_for(policy)
    if roles is None:
        return endpoint  # public, subscriber and media policies: the endpoint checks what it needs

    async def guarded(request: Request) -> Response:
        await authorize(request, roles, activity=activity)
        return await endpoint(request)

    guarded.__name__ = endpoint.__name__
    return guarded


def services(request: Request) -> Services:
    value = request.app.state.services
    assert isinstance(value, Services)
    return value


def client_ip(request: Request) -> str:
    """The socket peer's address (``X-Forwarded-For`` is never trusted here)."""
    return request.client.host if request.client is not None else ""


def principal(request: Request) -> Principal:
    """The authenticated caller of an admin-policy route (set by the guard)."""
    found = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        raise AuthFailed("authentication required")
    return found


# -- the guard ---------------------------------------------------------------------------------------------------


async def authorize(request: Request, roles: frozenset[Role], *, activity: bool = True) -> Principal:
    """Authenticate the caller, check its role, origin and CSRF token; the principal lands on request.state."""
    svc = services(request)
    found = await authenticate(request, svc, activity=activity)
    if found is None:
        raise AuthFailed("authentication required: a session cookie or 'Authorization: Bearer <token>'")
    if request.method not in SAFE_METHODS:
        check_origin(request)
        if found.via == "session":
            await check_csrf(request, found)
    if found.role not in roles:
        raise Forbidden(f"the {found.role.value} role may not do this")
    request.state.principal = found
    return found


async def authenticate(request: Request, svc: Services, *, activity: bool = True) -> Principal | None:
    """The principal behind the request's bearer token (if it sends one) or session cookie, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return await _bearer(value.strip(), svc)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        return await svc.admin_sessions.resolve(cookie, activity=activity)
    return None


async def _bearer(token: str, svc: Services) -> Principal | None:
    if not token:
        return None
    bootstrap = svc.settings.admin.api_token
    if bootstrap and hmac.compare_digest(token.encode(), bootstrap.encode()):
        return Principal(0, BOOTSTRAP_USERNAME, Role.ADMIN, via="bootstrap")
    return await svc.api_tokens.resolve(token)


def check_origin(request: Request) -> None:
    """Refuse a state-changing request a browser sent from another origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if not host or urlsplit(origin).netloc.lower() != host.lower():
        raise Forbidden("cross-origin request refused")


async def check_csrf(request: Request, who: Principal) -> None:
    """The session's CSRF token must come with every state-changing cookie-authenticated request."""
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else ""
    expected = who.csrf_token
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("CSRF token missing or invalid")


# -- sessions: login and the cookie ------------------------------------------------------------------------------


async def login(svc: Services, username: str, password: str, *, ip: str, user_agent: str) -> tuple[str, Principal]:
    """Check an admin's password and open a session: returns the cookie value and the principal.

    Failed attempts are throttled per client IP (429 with Retry-After; the account is never locked, so its
    owner can still log in from elsewhere) and audited, as is every successful login.
    """
    wait = svc.login_throttle.retry_after(ip)
    if wait > 0:
        raise TooManyRequests("too many failed logins from this address: try again later", retry_after=wait)
    try:
        account = await svc.admin_accounts.authenticate(username, password)
    except AuthFailed:
        svc.login_throttle.failed(ip)
        attempt = {"username": username[:64]}
        await svc.audit.record(None, "login.failed", "admin", None, after=attempt, ip=ip, actor_name="anonymous")
        raise AuthFailed("wrong username or password") from None
    svc.login_throttle.succeeded(ip)
    cookie, who = await svc.admin_sessions.create(account, ip=ip, user_agent=user_agent)
    await svc.audit.record(who, "login", "admin", account.id, ip=ip)
    return cookie, who


def set_session_cookie(response: Response, value: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=int(settings.admin.session_hours * 3600),
        path="/",
        secure=settings.admin.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")


__all__ = [
    "JSON",
    "PolicyRoute",
    "authenticate",
    "authorize",
    "check_csrf",
    "check_origin",
    "clear_session_cookie",
    "client_ip",
    "login",
    "principal",
    "services",
    "set_session_cookie",
]
