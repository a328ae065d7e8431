"""The Xtream Codes stream routes players call: ``/live/U/P/ID[.ts|.m3u8]``, the short form ``/U/P/ID[...]``
and the tokenised HLS segments ``/hls/TOKEN/CHANNEL/SEQ.ts``.

Checks, in this order, for every stream request (xtream-contract.md §1.3, §1.13; reliability.md §2.6):

1. parse: the route patterns admit only the characters a username or password may have, an id of at most
   ten digits, and the short form never starts with a reserved first segment (``api``, ``live``, ...), so it
   shadows no other route. Dot-only segments and encoded ``/``, ``\\`` or NUL are refused → 404;
2. authenticate: bad credentials → 401 (one answer for unknown user and wrong password); an expired,
   disabled or banned line → 403; a client outside the line's IP/user-agent allow-lists → 403;
3. entitlement: a channel outside the line's bouquets → 404 (its existence is not revealed);
4. output: ``.m3u8`` (or ``.ts``) not in the line's ``allowed_outputs`` → NotAcceptable (406);
5. connection limit: the session store admits the stream or refuses it → 403;
6. :class:`~headend.delivery.media.MediaService` serves it.

A TS stream is one session for the socket's life; when the store ends it (``end_oldest``, a zap from the
same device) its ``on_end`` closes that viewer's socket. An HLS playlist is authenticated once; its segment
URIs carry a signed token (:class:`~headend.auth.tokens.SegmentTokens`) bound to line, channel and session,
never the password. Every playlist and segment request touches the session; a refresh continues it.

Nothing here logs a request path: the password is in it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from headend.auth.lines import AuthenticatedLine, LineAuthenticator, allows_client
from headend.auth.sessions import InProcessSessionStore, SessionKind, device_key
from headend.auth.tokens import SegmentTokens
from headend.delivery.media import MediaService
from headend.errors import Forbidden, NotAcceptable, NotFound
from headend.hls.segmenter import Segment
from headend.http.connection import Request, Responder
from headend.http.policy import Policy
from headend.http.routes import NativeRouter
from headend.types import ChannelId

logger = logging.getLogger(__name__)

MAX_CHANNEL_ID: Final = 2**31 - 1
USER_AGENT_MAX: Final = 256

# What headend.catalog.subscriber_records lets a username / password be (URL-path safe, no escaping).
_USER: Final = r"(?P<username>[A-Za-z0-9._@-]{1,64})"
_PASS: Final = r"(?P<password>[A-Za-z0-9._~@-]{1,64})"
_ID: Final = r"(?P<stream_id>\d{1,10})"
_TOKEN: Final = r"(?P<token>[^/]{1,256})"  # broad on purpose: the verifier refuses anything odd with 403
RESERVED_FIRST_SEGMENTS: Final = (
    "admin", "api", "assets", "auth", "auto", "c", "docs", "epg", "hls", "live", "movie", "play", "player_api",
    "playlist", "series", "server", "static", "stream", "streaming", "subtitle", "thumb", "timeshift", "web",
)  # fmt: skip
"""First path segments the short form ``/U/P/ID`` never claims: other routes live (or will live) there."""
_SHORT: Final = "/(?!(?:" + "|".join(RESERVED_FIRST_SEGMENTS) + ")/)"
_BAD_ESCAPES: Final = re.compile(rb"%(?:2f|5c|00)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class StreamAccess:
    """A stream request that passed authentication, the allow-lists and the entitlement check."""

    line: AuthenticatedLine
    channel_id: ChannelId
    device: str

    @property
    def line_id(self) -> int:
        return self.line.id

    @property
    def max_connections(self) -> int:
        return self.line.line.max_connections


def channel_id_of(raw: str) -> ChannelId:
    """The channel id of a path segment already matched as 1-10 digits; 404 outside 1..2^31-1."""
    value = int(raw)
    if not 0 < value <= MAX_CHANNEL_ID:
        raise NotFound("no such stream")
    return ChannelId(value)


def _refuse_path_tricks(request: Request, *segments: str) -> None:
    """404 for what the patterns alone cannot see: dot-only segments, encoded ``/``, ``\\`` or NUL."""
    if _BAD_ESCAPES.search(request.raw_path) or any(not segment.strip(".") for segment in segments):
        raise NotFound("no such stream")


def _credentials(request: Request, params: Mapping[str, str]) -> tuple[str, str]:
    username, password = params["username"], params["password"]
    _refuse_path_tricks(request, username, password)
    return username, password


def _client(request: Request) -> tuple[str, str]:
    ip = request.client[0] if request.client else ""
    agent = (request.header(b"user-agent") or b"").decode("latin-1")[:USER_AGENT_MAX]
    return ip, agent


def _lease_key(session_id: str) -> str:
    return f"xtream:{session_id}"


def _not_acceptable(output: str) -> NotAcceptable:
    return NotAcceptable(f"this line may not use the {output} output")


class XtreamStreamRoutes:
    """Registers and answers the subscriber media routes (all native, all GET/HEAD)."""

    def __init__(
        self,
        media: MediaService,
        authenticator: LineAuthenticator,
        sessions: InProcessSessionStore,
        tokens: SegmentTokens,
    ) -> None:
        self._media = media
        self._auth = authenticator
        self._sessions = sessions
        self._tokens = tokens

    def register(self, router: NativeRouter) -> None:
        for prefix, name, doc in (("/live/", "live", "/live/"), (_SHORT, "short", "/")):
            base = f"{prefix}{_USER}/{_PASS}/{_ID}"
            creds = f"{doc}{{username}}/{{password}}/{{stream_id}}"
            router.add(f"{name}_ts", f"{creds}.ts", rf"{base}\.ts", self.ts, policy=Policy.SUBSCRIBER)
            router.add(f"{name}_bare", creds, base, self.ts, policy=Policy.SUBSCRIBER)
            router.add(f"{name}_m3u8", f"{creds}.m3u8", rf"{base}\.m3u8", self.m3u8, policy=Policy.SUBSCRIBER)
        router.add(
            "hls_segment",
            "/hls/{token}/{channel_id}/{seq}.ts",
            rf"/hls/{_TOKEN}/(?P<channel_id>\d{{1,10}})/(?P<seq>\d{{1,18}})\.ts",
            self.segment,
            policy=Policy.SEGMENT_TOKEN,
        )

    # -- checks 1-3 -------------------------------------------------------------------------------------

    async def _access(self, request: Request, params: Mapping[str, str]) -> StreamAccess:
        username, password = _credentials(request, params)
        channel_id = channel_id_of(params["stream_id"])
        line = await self._auth.authenticate(username, password)
        ip, agent = _client(request)
        if not allows_client(line, ip, agent):
            logger.debug("line %d: client not in its allow-lists", line.id)
            raise Forbidden("this client may not use this line")
        if not line.may_watch(channel_id):
            raise NotFound("no such stream")
        return StreamAccess(line, channel_id, device_key(ip, agent))

    def _open(self, access: StreamAccess, kind: SessionKind, responder: Responder | None = None) -> str:
        session = self._sessions.open(
            line_id=access.line_id,
            max_connections=access.max_connections,
            channel_id=access.channel_id,
            device=access.device,
            kind=kind,
            on_end=responder.close if responder is not None else None,
        )
        return session.id

    # -- handlers ---------------------------------------------------------------------------------------

    async def ts(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        """Continuous MPEG-TS; one session for as long as the socket stays open."""
        access = await self._access(request, params)
        if not access.line.allows_output("ts"):
            raise _not_acceptable("ts")
        if request.method == "HEAD":  # a probe: no media, no session (it must not replace a playing one)
            await self._media.serve_ts(access.channel_id, request, responder)
            return
        session_id = self._open(access, "ts", responder)
        try:
            await self._media.serve_ts(access.channel_id, request, responder)
        finally:
            self._sessions.close(session_id)

    async def m3u8(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        """A live playlist whose segment URIs carry a fresh token for this line's HLS session."""
        access = await self._access(request, params)
        if not access.line.allows_output("m3u8"):
            raise _not_acceptable("m3u8")
        session_id = self._open(access, "hls")
        token = self._tokens.issue(access.line_id, access.channel_id, session_id)
        channel_id = access.channel_id

        def uri(segment: Segment) -> str:
            return f"/hls/{token}/{channel_id}/{segment.seq}.ts"

        served = False
        try:
            await self._media.serve_playlist(channel_id, _lease_key(session_id), responder, uri)
            served = True
        finally:
            if not served:  # no picture (503) or the player left: don't count a viewer who got nothing
                self._sessions.close(session_id)

    async def segment(self, request: Request, responder: Responder, params: Mapping[str, str]) -> None:
        """One HLS segment, for a valid token of a live session of the token's line."""
        _refuse_path_tricks(request, params["token"])
        channel_id = channel_id_of(params["channel_id"])
        claims = self._tokens.verify(params["token"], channel_id)
        owned = any(s.id == claims.session_id for s in self._sessions.sessions(claims.line_id))
        if not owned or not self._sessions.touch(claims.session_id):
            raise Forbidden("this stream session has ended")
        seq = int(params["seq"])
        head = request.method == "HEAD"
        if not self._media.serve_segment(channel_id, seq, _lease_key(claims.session_id), responder, head=head):
            raise NotFound("segment not available")


__all__ = ["RESERVED_FIRST_SEGMENTS", "StreamAccess", "XtreamStreamRoutes", "channel_id_of"]
