"""Frozen views of what the Xtream API tells a client: plain values, no I/O, no JSON types yet.

The serialisers in :mod:`headend.api.xtream_json` turn these into the exact JSON shapes of the wire contract
(``xtream-contract.md`` §1); this module only says *what* is true. Epochs are UTC seconds; ``now`` is aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

UNCATEGORISED_ID: Final = 0
"""Category id of channels without a category (catalog ids start at 1, so 0 is free). Contract §1.4 wants a
numeric ``category_id`` string on every stream; ``""`` would break Go's ``,string`` tag."""
UNCATEGORISED_NAME: Final = "Uncategorised"

NEVER_EXPIRES_EPOCH: Final = 2_145_916_800
"""``exp_date`` of a line without an expiry: 2038-01-01T00:00:00Z. Contract §1.2 asks for a far-future epoch
instead of ``null``; this one stays below the 32-bit ``time_t`` limit (2038-01-19), which Enigma2 boxes
(XStreamity's ``datetime.fromtimestamp``) still have, with room for a timezone offset."""

SERVED_OUTPUTS: Final = ("ts", "m3u8")
"""The live containers Headend serves; ``allowed_output_formats`` never advertises anything else (§1.2)."""

Protocol = Literal["http", "https"]


@dataclass(frozen=True, slots=True)
class LineInfo:
    """``user_info`` of the login payload (§1.2)."""

    username: str
    password: str
    status: str  # Active, Banned, Disabled or Expired
    exp_date: int | None  # epoch seconds; None: never expires
    is_trial: bool
    active_cons: int
    max_connections: int
    created_at: int  # epoch seconds
    allowed_output_formats: tuple[str, ...]
    message: str = ""

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """``server_info`` of the login payload (§1.2): the *public* endpoint, as clients must reach it."""

    host: str  # bare host name or IP literal, no scheme, no port
    port: int
    https_port: int  # 0: no https endpoint is known
    protocol: Protocol
    timezone: str  # IANA name
    now: datetime  # timezone-aware
    rtmp_port: int = 0  # Headend serves no RTMP


@dataclass(frozen=True, slots=True)
class LiveCategory:
    """One entry of ``get_live_categories`` (§1.4)."""

    id: int
    name: str
    parent_id: int = 0


@dataclass(frozen=True, slots=True)
class LiveStream:
    """One entry of ``get_live_streams`` (§1.5)."""

    num: int
    name: str
    stream_id: int
    icon: str  # "" if none
    epg_channel_id: str  # "" if none (emitted as null)
    added: int  # epoch seconds
    category_id: int  # UNCATEGORISED_ID if none
    is_adult: bool = False
    tv_archive_days: int = 0  # 0: no catch-up archive


@dataclass(frozen=True, slots=True)
class PublicEndpoint:
    """Where clients reach this server: the base URL of playlists and the parts ``server_info`` reports."""

    scheme: Protocol
    host: str  # as in a URL: a name, an IPv4 literal or a bracketed IPv6 literal
    port: int
    path: str = ""  # a base path under which a reverse proxy serves Headend, without a trailing slash

    @property
    def base_url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        netloc = self.host if self.port == default else f"{self.host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"


__all__ = [
    "NEVER_EXPIRES_EPOCH",
    "SERVED_OUTPUTS",
    "UNCATEGORISED_ID",
    "UNCATEGORISED_NAME",
    "LineInfo",
    "LiveCategory",
    "LiveStream",
    "Protocol",
    "PublicEndpoint",
    "ServerInfo",
]
