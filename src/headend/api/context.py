"""What every client-API endpoint needs: who is calling, what they may see, and where the server is.

:class:`XtreamContext` is built once per app from the services. Per request it costs one credential check
(the authenticator's short cache makes a repeat a dictionary lookup), one catalog-version read and, on a
cache hit, nothing else: lineups and encoded bodies are shared by every line with the same entitlement.
The guide's parts (:class:`headend.api.epg.Guide`) hang off it as ``guide``; ``now`` is the one clock of
every answer (a test injects its own).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request

from headend.api import endpoint
from headend.api.cache import ResponseCache, VersionedCache
from headend.api.epg import ArchiveCheck, Guide, no_archive
from headend.api.lineup import CatalogSnapshots, Lineup, build_lineup, playlist_channels
from headend.api.views import SERVED_OUTPUTS, LineInfo, LiveStream, Protocol, PublicEndpoint, ServerInfo
from headend.auth.lines import AuthenticatedLine, LineAuthenticator, allows_client
from headend.auth.sessions import SessionStore
from headend.catalog.channels import ChannelStore
from headend.catalog.epg import EpgStore
from headend.catalog.subscriber_records import Entitlement, check_password, check_username
from headend.errors import AuthFailed, ValidationError
from headend.playlists import m3u
from headend.settings import Settings

LINEUP_CACHE_ENTRIES: Final = 64
_ALL_CHANNELS: Final = ("all-enabled-channels",)  # the lineup key of the operator's guide (every enabled channel)
TEMPLATE_CACHE_ENTRIES: Final = 32
TEMPLATE_CACHE_CHARS: Final = 128 * 1024 * 1024
USER_AGENT_MAX: Final = 512


@dataclass(frozen=True, slots=True)
class Caller:
    """A line whose password was right, and the password as the client sent it (echoed in ``user_info``)."""

    found: AuthenticatedLine
    password: str
    allowed: bool  # inside the line's IP / user-agent allow-lists

    @property
    def active(self) -> bool:
        return self.found.active

    @property
    def status(self) -> str:
        return self.found.status.value

    @property
    def entitlement(self) -> Entitlement:
        return self.found.entitlement

    def outputs(self) -> tuple[str, ...]:
        """The line's allowed outputs that Headend serves, in the line's order (players take the first)."""
        return tuple(o for o in self.found.line.allowed_outputs if o in SERVED_OUTPUTS)


def utcnow() -> datetime:
    return datetime.now(UTC)


class XtreamContext:
    def __init__(
        self,
        *,
        settings: Settings,
        authenticator: LineAuthenticator,
        sessions: SessionStore,
        channels: ChannelStore,
        epg: EpgStore,
        now: Callable[[], datetime] = utcnow,
        has_archive: ArchiveCheck = no_archive,
    ) -> None:
        self.settings = settings
        self.cache = ResponseCache()
        self._auth = authenticator
        self._sessions = sessions
        self._snapshots = CatalogSnapshots(channels)
        self._lineups: VersionedCache[Lineup] = VersionedCache(LINEUP_CACHE_ENTRIES)
        self._indexes: VersionedCache[Mapping[int, LiveStream]] = VersionedCache(LINEUP_CACHE_ENTRIES)
        self._templates: VersionedCache[tuple[str, ...]] = VersionedCache(
            TEMPLATE_CACHE_ENTRIES, max_size=TEMPLATE_CACHE_CHARS, size_of=lambda chunks: sum(map(len, chunks))
        )
        self._public = endpoint.from_public_url(settings.http.public_url)
        self._now = now
        self.guide = Guide(epg, settings, writes=lambda: channels.db.writes, has_archive=has_archive)

    def now(self) -> datetime:
        """The time every answer is computed at (aware, UTC)."""
        return self._now()

    # -- who is calling -----------------------------------------------------------------------------------------

    async def caller(self, request: Request, params: dict[str, str]) -> Caller | None:
        """The calling line, or None for bad credentials (unknown user and wrong password alike).

        Values no line can have (wrong characters or length) are refused without a lookup: that reveals
        only what the published username/password rules say anyway.
        """
        username, password = params.get("username", ""), params.get("password", "")
        try:
            check_username(username)
            check_password(password)
        except ValidationError:
            return None
        try:
            found = await self._auth.check(username, password)
        except (AuthFailed, ValidationError):
            return None
        client = request.client.host if request.client is not None else ""
        agent = request.headers.get("user-agent", "")[:USER_AGENT_MAX]
        return Caller(found, password, allows_client(found, client, agent))

    # -- what it may see ----------------------------------------------------------------------------------------

    async def version(self) -> int:
        return await self._snapshots.version()

    async def lineup(self, entitlement: Entitlement, version: int) -> Lineup:
        """The entitlement's channels at ``version`` (built once per entitlement and version)."""

        async def build() -> Lineup:
            return build_lineup(await self._snapshots.at(version), entitlement.channel_ids)

        return await self._lineups.get(entitlement_key(entitlement), version, build)

    async def entitled_stream(self, entitlement: Entitlement, version: int, stream_id: int) -> LiveStream | None:
        """The stream ``stream_id`` if it is in the entitlement's lineup at ``version`` (else None)."""

        async def build() -> Mapping[int, LiveStream]:
            lineup = await self.lineup(entitlement, version)
            return {stream.stream_id: stream for stream in lineup.streams}

        index = await self._indexes.get(entitlement_key(entitlement), version, build)
        return index.get(stream_id)

    async def all_channels(self, version: int) -> Lineup:
        """Every enabled channel at ``version``, in catalog order (the operator's guide, ``/epg.xml``)."""

        async def build() -> Lineup:
            snapshot = await self._snapshots.at(version)
            return build_lineup(snapshot, list(snapshot.channels))

        return await self._lineups.get(_ALL_CHANNELS, version, build)

    async def playlist_template(
        self, entitlement: Entitlement, version: int, kind: m3u.PlaylistType
    ) -> tuple[str, ...]:
        """The entitlement's playlist entries with URL placeholders (:func:`headend.playlists.m3u.template`):
        escaping 10,000 names once per version instead of once per request."""

        async def build() -> tuple[str, ...]:
            lineup = await self.lineup(entitlement, version)
            return tuple(m3u.template(playlist_channels(lineup), kind))

        return await self._templates.get((entitlement_key(entitlement), kind), version, build)

    # -- views --------------------------------------------------------------------------------------------------

    def public(self, request: Request) -> PublicEndpoint:
        """The configured public URL, else what the request's (validated) Host header names."""
        if self._public is not None:
            return self._public
        server = request.scope.get("server")
        scheme: Protocol = "https" if request.url.scheme == "https" else "http"
        return endpoint.from_request(request.headers.get("host"), server, scheme)

    def server_info(self, request: Request) -> ServerInfo:
        public = self.public(request)
        return ServerInfo(
            host=public.host,
            port=public.port,
            https_port=public.port if public.scheme == "https" else 0,
            protocol=public.scheme,
            timezone=self.settings.subscribers.timezone,
            now=self._now(),
        )

    def line_info(self, caller: Caller) -> LineInfo:
        line = caller.found.line
        return LineInfo(
            username=line.username,
            password=caller.password,
            status=caller.status,
            exp_date=None if line.exp_at is None else int(line.exp_at.timestamp()),
            is_trial=line.is_trial,
            active_cons=self._sessions.active_count(line.id),
            max_connections=line.max_connections,
            created_at=int(line.created_at.timestamp()),
            allowed_output_formats=caller.outputs(),
        )


def entitlement_key(entitlement: Entitlement) -> Hashable:
    """The cache key of what an entitlement shows: its bouquet fingerprint, and a hash of its channel list
    (an entitlement read just before a bouquet change must not be cached under the new catalog version)."""
    return (entitlement.key, hash(entitlement.channel_ids))


__all__ = ["Caller", "XtreamContext", "entitlement_key", "utcnow"]
