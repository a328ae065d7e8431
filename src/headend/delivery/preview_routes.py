"""The admin panel's channel preview: ``/admin/preview/{channel_id}.m3u8`` and its segments, served natively.

Who may call them: admin accounts whose role :data:`Policy.SUPPORT` admits (admin, operator, support),
authenticated like the control plane, on every request (playlist and segment alike): the admin session cookie
(``headend_admin``), or ``Authorization: Bearer`` with an API token or the bootstrap token. No credentials →
401, another role → 403, a channel that does not exist or is disabled → 404. The bytes come from the same
:class:`~headend.delivery.media.MediaService` functions subscribers' HLS uses, and the preview holds a viewer
lease on the channel, so it counts as a viewer on the dashboard while it plays.

Segment URIs in the playlist are relative (``{channel_id}/{seq}.ts``): they carry no credential, the browser
sends its cookie with each request.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final, Protocol

from headend.admin.principal import Principal, Role
from headend.admin.sessions import COOKIE_NAME
from headend.delivery.media import MediaService
from headend.delivery.xtream_routes import channel_id_of
from headend.errors import AuthFailed, Forbidden, NotFound
from headend.hls.segmenter import Segment
from headend.http.connection import Request, Responder
from headend.http.policy import ROLES, Policy
from headend.http.routes import NativeRouter

POLICY: Final = Policy.SUPPORT
COOKIE_MAX: Final = 4096
_ID: Final = r"(?P<channel_id>\d{1,10})"
BOOTSTRAP_USERNAME: Final = "bootstrap-token"


class SessionResolver(Protocol):
    async def resolve(self, cookie_value: str, *, activity: bool = True) -> Principal | None: ...


class TokenResolver(Protocol):
    async def resolve(self, token: str) -> Principal | None: ...


def cookie_value(request: Request, name: str) -> str | None:
    """The value of cookie ``name`` in the request's Cookie header(s), or None."""
    for key, value in request.headers:
        if key != b"cookie" or len(value) > COOKIE_MAX:
            continue
        for part in value.decode("latin-1").split(";"):
            cookie, sep, found = part.strip().partition("=")
            if sep and cookie == name:
                return found.strip().strip('"')
    return None


class PreviewRoutes:
    """Registers and answers the preview routes (native, GET/HEAD)."""

    def __init__(
        self, media: MediaService, sessions: SessionResolver, tokens: TokenResolver, *, bootstrap_token: str = ""
    ) -> None:
        self._media = media
        self._sessions = sessions
        self._tokens = tokens
        self._bootstrap = bootstrap_token

    def register(self, router: NativeRouter) -> None:
        router.add(
            "preview_m3u8", "/admin/preview/{channel_id}.m3u8", rf"/admin/preview/{_ID}\.m3u8", self.m3u8, policy=POLICY
        )
        router.add(
            "preview_segment",
            "/admin/preview/{channel_id}/{seq}.ts",
            rf"/admin/preview/{_ID}/(?P<seq>\d{{1,18}})\.ts",
            self.segment,
            policy=POLICY,
        )

    async def authenticate(self, request: Request) -> Principal:
        """The caller, if it may preview (see the module docstring); AuthFailed or Forbidden otherwise."""
        found = await self._principal(request)
        if found is None:
            raise AuthFailed("authentication required: the admin session cookie or a bearer token")
        if found.role not in ROLES[POLICY]:
            raise Forbidden(f"the {found.role.value} role may not preview channels")
        return found

    async def _principal(self, request: Request) -> Principal | None:
        authorization = (request.header(b"authorization") or b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            token = token.strip()
            if self._bootstrap and token and hmac.compare_digest(token.encode(), self._bootstrap.encode()):
                return Principal(0, BOOTSTRAP_USERNAME, Role.ADMIN, via="bootstrap")
            return await self._tokens.resolve(token) if token else None
        cookie = cookie_value(request, COOKIE_NAME)
        # a player refreshes its playlist by itself: that keeps no unattended session alive
        return await self._sessions.resolve(cookie, activity=False) if cookie else None

    async def m3u8(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        who = await self.authenticate(request)
        channel_id = channel_id_of(params["channel_id"])

        def uri(segment: Segment) -> str:
            return f"{channel_id}/{segment.seq}.ts"

        await self._media.serve_playlist(channel_id, _lease_key(who, channel_id), responder, uri)

    async def segment(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        who = await self.authenticate(request)
        channel_id = channel_id_of(params["channel_id"])
        head = request.method == "HEAD"
        if not self._media.serve_segment(
            channel_id, int(params["seq"]), _lease_key(who, channel_id), responder, head=head
        ):
            raise NotFound("segment not available")


def _lease_key(who: Principal, channel_id: int) -> str:
    return f"preview:{who.account_id}:{who.session_id or who.via}:{channel_id}"


__all__ = ["PreviewRoutes", "cookie_value"]
