"""Frozen values of the EPG part of the catalog: sources, mappings, stored programmes and import outcomes.

Inputs validate themselves when constructed and raise :class:`~headend.errors.ValidationError` naming the
field. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from headend.catalog.records import check_int, check_text
from headend.errors import ValidationError

EPG_SOURCE_NAME_MAX: Final = 200
EPG_LOCATION_MAX: Final = 4096
EPG_MESSAGE_MAX: Final = 2000
REFRESH_HOURS_MAX: Final = 24 * 30


class EpgSourceKind(StrEnum):
    URL = "url"  # fetched over http(s)
    FILE = "file"  # a file in the managed directory (<data_dir>/epg), uploaded or copied there


class ImportState(StrEnum):
    RUNNING = "running"
    ACTIVE = "active"  # the source's current guide
    REPLACED = "replaced"  # an older guide, its programmes being deleted
    FAILED = "failed"


class MatchMethod(StrEnum):
    OVERRIDE = "override"  # the operator said so (epg map)
    TVG_ID = "tvg_id"  # the channel's tvg-id equals the guide channel id
    NAME = "name"  # normalised display names are equal


@dataclass(frozen=True, slots=True)
class EpgSourceInput:
    name: str
    kind: EpgSourceKind
    location: str  # URL (kind url) or file name inside the managed directory (kind file)
    refresh_hours: int = 24  # 0: only on demand
    priority: int = 100  # lower wins when two sources carry the same channel
    enabled: bool = True

    def __post_init__(self) -> None:
        check_text(self.name, "name", EPG_SOURCE_NAME_MAX, required=True)
        check_text(self.location, "location", EPG_LOCATION_MAX, required=True)
        check_int(self.refresh_hours, "refresh_hours", low=0, high=REFRESH_HOURS_MAX)
        check_int(self.priority, "priority", low=0, high=10_000)
        if self.kind is EpgSourceKind.URL:
            parts = urlsplit(self.location)
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
                raise ValidationError("location must be an http(s) URL", field="location")
        elif "/" in self.location or "\\" in self.location or self.location.startswith("."):
            raise ValidationError("location must be a plain file name in the EPG directory", field="location")


@dataclass(frozen=True, slots=True)
class EpgSourceRecord:
    id: int
    name: str
    kind: EpgSourceKind
    location: str
    refresh_hours: int
    priority: int
    enabled: bool
    created_at: datetime
    last_import_at: datetime | None  # when the last import (successful or not) finished
    last_success_at: datetime | None
    last_status: str  # "", "ok", "failed"
    last_message: str  # summary or error text, credentials redacted
    channels_matched: int  # of the active import
    programmes: int  # stored for the active import


@dataclass(frozen=True, slots=True)
class ChannelMatch:
    """Which guide channel of which source feeds one of our channels."""

    channel_id: int
    source_id: int
    guide_id: str
    method: MatchMethod


@dataclass(frozen=True, slots=True)
class EpgOverride:
    channel_id: int
    guide_id: str
    source_id: int | None  # None: whichever source carries guide_id


@dataclass(frozen=True, slots=True)
class ProgrammeRecord:
    id: int
    source_id: int
    channel_id: int  # ours
    start: datetime
    stop: datetime
    title: str
    sub_title: str
    description: str
    categories: tuple[str, ...]
    episode_num: str
    icon: str
    rating: str
    lang: str


__all__ = [
    "ChannelMatch",
    "EpgOverride",
    "EpgSourceInput",
    "EpgSourceKind",
    "EpgSourceRecord",
    "ImportState",
    "MatchMethod",
    "ProgrammeRecord",
]
