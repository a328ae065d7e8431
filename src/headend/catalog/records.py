"""Frozen values the catalog takes in and hands out. Callers never see ORM rows.

Inputs (:class:`ChannelInput`, :class:`ChannelPatch`, :class:`SourceInput`) validate themselves when they
are constructed, like :class:`~headend.ingest.sources.SourceSpec` does, and raise
:class:`~headend.errors.ValidationError` naming the field: lengths fit the columns, no control characters
(they would break M3U lines, logs and ffmpeg arguments), no lone surrogates (PostgreSQL refuses them),
logo URLs are http(s) only (the admin UI renders them).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Final, Literal
from urllib.parse import urlsplit

from headend.errors import ValidationError
from headend.ingest.sources import Profile, ProfileMode, SourceKind, SourceSpec
from headend.types import ChannelId

CHANNEL_NAME_MAX: Final = 200
CATEGORY_NAME_MAX: Final = 200
PROFILE_NAME_MAX: Final = 64
LOGO_URL_MAX: Final = 2048
TVG_ID_MAX: Final = 200
SOURCE_URL_MAX: Final = 4096
LABEL_MAX: Final = 200
USER_AGENT_MAX: Final = 512
CHANNEL_NUMBER_MAX: Final = 2**31 - 1  # fits a 32-bit INTEGER column
SEARCH_MAX: Final = 200

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class CategoryKind(StrEnum):
    LIVE = "live"
    MOVIE = "movie"
    SERIES = "series"


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks a :class:`ChannelPatch` field that is left as it is."""
Unset = Literal[_Unset.UNSET]


# -- field checks ---------------------------------------------------------------------------------


def check_text(value: object, field: str, max_len: int, *, required: bool = False) -> str:
    """Return ``value`` if it is a string that fits a column of ``max_len`` and holds no control character."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field=field)
    if required and not value.strip():
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(value) > max_len:
        raise ValidationError(f"{field} is longer than {max_len} characters", field=field)
    if _CONTROL.search(value):
        raise ValidationError(f"{field} contains a control character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} is not valid Unicode text", field=field) from None
    return value


def check_int(value: object, field: str, *, low: int = 1, high: int = CHANNEL_NUMBER_MAX) -> int:
    if type(value) is not int:  # bool is an int subclass: refuse it too
        raise ValidationError(f"{field} must be an integer", field=field)
    if not low <= value <= high:
        raise ValidationError(f"{field} must be between {low} and {high}", field=field)
    return value


def check_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false", field=field)
    return value


def _check_optional_int(value: object, field: str) -> None:
    if value is not None:
        check_int(value, field)


def _check_logo_url(value: object, field: str = "logo_url") -> None:
    url = check_text(value, field, LOGO_URL_MAX)
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in url:
        raise ValidationError(f"{field} must be an http(s) URL", field=field)


_CHANNEL_CHECKS: Final[dict[str, Callable[[object], object]]] = {
    "name": lambda v: check_text(v, "name", CHANNEL_NAME_MAX, required=True),
    "number": lambda v: _check_optional_int(v, "number"),
    "logo_url": _check_logo_url,
    "category_id": lambda v: _check_optional_int(v, "category_id"),
    "tvg_id": lambda v: check_text(v, "tvg_id", TVG_ID_MAX),
    "profile_id": lambda v: _check_optional_int(v, "profile_id"),
    "on_demand": lambda v: check_bool(v, "on_demand"),
    "enabled": lambda v: check_bool(v, "enabled"),
}


# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelInput:
    """A new channel. ``profile_id=None`` means the built-in "remux" profile."""

    name: str
    number: int | None = None
    logo_url: str = ""
    category_id: int | None = None
    tvg_id: str = ""
    profile_id: int | None = None
    on_demand: bool = True
    enabled: bool = True

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _CHANNEL_CHECKS[field.name](getattr(self, field.name))


@dataclass(frozen=True, slots=True)
class ChannelPatch:
    """Changes to a channel: only the fields not left at :data:`UNSET` are written.

    ``number=None`` removes the channel number, ``category_id=None`` the category, ``profile_id=None``
    resets the profile to "remux".
    """

    name: str | Unset = UNSET
    number: int | Unset | None = UNSET
    logo_url: str | Unset = UNSET
    category_id: int | Unset | None = UNSET
    tvg_id: str | Unset = UNSET
    profile_id: int | Unset | None = UNSET
    on_demand: bool | Unset = UNSET
    enabled: bool | Unset = UNSET

    def __post_init__(self) -> None:
        for name, value in self.changes().items():
            _CHANNEL_CHECKS[name](value)

    def changes(self) -> dict[str, object]:
        """The fields that are set, by name."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: value for name, value in values.items() if value is not UNSET}


@dataclass(frozen=True, slots=True)
class SourceInput:
    """A new source of a channel, as an operator types it; :meth:`spec` is the validated form."""

    kind: SourceKind | str
    url: str = ""
    label: str = ""
    reconnect: bool = False
    user_agent: str = ""
    enabled: bool = True

    def __post_init__(self) -> None:
        self.spec()
        check_bool(self.enabled, "enabled")

    def spec(self) -> SourceSpec:
        """The :class:`SourceSpec` (raises ValidationError for an unknown kind, a bad URL, ...)."""
        try:
            kind = SourceKind(self.kind)
        except ValueError:
            raise ValidationError(f"unknown source kind {str(self.kind)[:40]!r}", field="kind") from None
        return SourceSpec(
            kind=kind,
            url=check_text(self.url, "url", SOURCE_URL_MAX),
            label=check_text(self.label, "label", LABEL_MAX),
            reconnect=check_bool(self.reconnect, "reconnect"),
            user_agent=check_text(self.user_agent, "user_agent", USER_AGENT_MAX),
        )


def check_profile(profile: Profile) -> Profile:
    """Checks a :class:`Profile` does not make itself: the name fits its column, the mode and sizes are typed."""
    check_text(profile.name, "name", PROFILE_NAME_MAX, required=True)
    try:
        ProfileMode(profile.mode)
    except ValueError:
        raise ValidationError(f"unknown profile mode {str(profile.mode)[:40]!r}", field="mode") from None
    for field in ("video_bitrate_kbps", "max_height", "fps", "audio_bitrate_kbps"):
        check_int(getattr(profile, field), field, low=0)
    return profile


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    id: ChannelId
    number: int | None
    name: str
    logo_url: str
    category_id: int | None
    tvg_id: str
    profile_id: int
    on_demand: bool
    enabled: bool
    created_at: datetime  # UTC, timezone-aware
    updated_at: datetime  # UTC, timezone-aware


@dataclass(frozen=True, slots=True)
class SourceRecord:
    id: int
    channel_id: ChannelId
    position: int  # failover order, 0 = primary; contiguous per channel
    spec: SourceSpec
    enabled: bool


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    id: int
    kind: CategoryKind
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    id: int
    profile: Profile

    @property
    def name(self) -> str:
        return self.profile.name


__all__ = [
    "CATEGORY_NAME_MAX",
    "CHANNEL_NAME_MAX",
    "CHANNEL_NUMBER_MAX",
    "LABEL_MAX",
    "LOGO_URL_MAX",
    "PROFILE_NAME_MAX",
    "SEARCH_MAX",
    "SOURCE_URL_MAX",
    "TVG_ID_MAX",
    "UNSET",
    "USER_AGENT_MAX",
    "CategoryKind",
    "CategoryRecord",
    "ChannelInput",
    "ChannelPatch",
    "ChannelRecord",
    "ProfileRecord",
    "SourceInput",
    "SourceRecord",
    "Unset",
    "check_profile",
    "check_text",
]
