"""Views → the JSON shapes of the Xtream Codes contract, with exactly its types (``xtream-contract.md`` §1.15).

Pure functions, no I/O. Strings where strict clients want strings (Go ``,string`` tags, Jellyfin's
``StringBoolConverter``, pyxtream's ``int(...)`` on ``exp_date``/``added``), ints where they want ints, arrays
never ``null``, empty maps ``{}``. The field order follows the captured panel responses (§1.2, §1.5).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, NotRequired, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from headend.api.views import NEVER_EXPIRES_EPOCH, LineInfo, LiveCategory, LiveStream, ServerInfo

TIME_NOW_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


class UserInfoJson(TypedDict):
    username: str
    password: str
    message: str
    auth: int
    status: str
    exp_date: str
    is_trial: str
    active_cons: str
    created_at: str
    max_connections: str
    allowed_output_formats: list[str]


class ServerInfoJson(TypedDict):
    url: str
    port: str
    https_port: str
    server_protocol: str
    rtmp_port: str
    timezone: str
    timestamp_now: int
    time_now: str
    process: bool


class LoginJson(TypedDict):
    user_info: UserInfoJson
    server_info: ServerInfoJson


class FailedUserInfoJson(TypedDict):
    auth: Literal[0]
    status: NotRequired[str]


class AuthFailureJson(TypedDict):
    user_info: FailedUserInfoJson


class CategoryJson(TypedDict):
    category_id: str
    category_name: str
    parent_id: int


class LiveStreamJson(TypedDict):
    num: int
    name: str
    stream_type: str
    stream_id: int
    stream_icon: str
    epg_channel_id: str | None
    added: str
    is_adult: str
    category_id: str
    category_ids: list[int]
    custom_sid: str
    tv_archive: int
    direct_source: str
    tv_archive_duration: int
    thumbnail: str


class EpgListingJson(TypedDict):
    id: str
    epg_id: str
    title: str
    lang: str
    start: str
    end: str
    stop: str
    description: str
    channel_id: str
    start_timestamp: str
    stop_timestamp: str
    stream_id: str
    now_playing: int
    has_archive: int


class EpgListingsJson(TypedDict):
    epg_listings: list[EpgListingJson]


@dataclass(frozen=True, slots=True)
class EpgListing:
    """One programme as ``get_short_epg`` / ``get_simple_data_table`` list it (§1.10)."""

    id: int  # the stored programme
    source_id: int  # the EPG source it came from (``epg_id``)
    title: str
    description: str
    lang: str  # "" if unknown
    start: datetime  # aware
    stop: datetime  # aware
    channel_id: str  # the stream's EPG id, "" if none
    stream_id: int
    now_playing: bool
    has_archive: bool


class PanelCategoriesJson(TypedDict):
    live: list[CategoryJson]
    movie: list[CategoryJson]
    series: list[CategoryJson]


# -- login -------------------------------------------------------------------------------------------------------


def user_info(line: LineInfo) -> UserInfoJson:
    """``user_info`` (§1.2): ``auth`` 1 only for an Active line; ``exp_date`` never null."""
    expires = NEVER_EXPIRES_EPOCH if line.exp_date is None else line.exp_date
    return {
        "username": line.username,
        "password": line.password,
        "message": line.message,
        "auth": 1 if line.active else 0,
        "status": line.status,
        "exp_date": str(expires),
        "is_trial": "1" if line.is_trial else "0",
        "active_cons": str(line.active_cons),
        "created_at": str(line.created_at),
        "max_connections": str(line.max_connections),
        "allowed_output_formats": list(line.allowed_output_formats),
    }


def server_info(server: ServerInfo) -> ServerInfoJson:
    """``server_info`` (§1.2): ports as strings, ``time_now`` wall clock in ``timezone``, ``process`` true."""
    zone_name, tz = server.timezone, zone(server.timezone)
    if tz is None:  # settings validate the name; never report a zone Go's LoadLocation would refuse
        zone_name, tz = "UTC", ZoneInfo("UTC")
    local = server.now.astimezone(tz)
    return {
        "url": server.host,
        "port": str(server.port),
        "https_port": str(server.https_port),
        "server_protocol": server.protocol,
        "rtmp_port": str(server.rtmp_port),
        "timezone": zone_name,
        "timestamp_now": int(server.now.timestamp()),
        "time_now": local.strftime(TIME_NOW_FORMAT),
        "process": True,
    }


def login(line: LineInfo, server: ServerInfo) -> LoginJson:
    """The login payload: ``player_api.php`` without action, unknown actions and ``get_account_info``."""
    return {"user_info": user_info(line), "server_info": server_info(server)}


def auth_failure(status: str | None = None) -> AuthFailureJson:
    """The failure body (§1.3): ``{"user_info":{"auth":0}}``, plus ``status`` for an inactive line."""
    failed: FailedUserInfoJson = {"auth": 0}
    if status is not None:
        failed["status"] = status
    return {"user_info": failed}


@functools.lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when it does not exist (the caller reports UTC instead)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# -- catalogue ---------------------------------------------------------------------------------------------------


def live_category(category: LiveCategory) -> CategoryJson:
    """A category (§1.4): ``category_id`` a numeric string, ``parent_id`` an int."""
    return {"category_id": str(category.id), "category_name": category.name, "parent_id": category.parent_id}


def live_stream(stream: LiveStream) -> LiveStreamJson:
    """A live stream (§1.5); ``epg_channel_id`` is null when the channel has no EPG id."""
    archive = max(stream.tv_archive_days, 0)
    return {
        "num": stream.num,
        "name": stream.name,
        "stream_type": "live",
        "stream_id": stream.stream_id,
        "stream_icon": stream.icon,
        "epg_channel_id": stream.epg_channel_id or None,
        "added": str(stream.added),
        "is_adult": "1" if stream.is_adult else "0",
        "category_id": str(stream.category_id),
        "category_ids": [stream.category_id],
        "custom_sid": "",
        "tv_archive": 1 if archive > 0 else 0,
        "direct_source": "",
        "tv_archive_duration": archive,
        "thumbnail": "",
    }


def live_categories(categories: Iterable[LiveCategory]) -> list[CategoryJson]:
    return [live_category(category) for category in categories]


def live_streams(streams: Iterable[LiveStream]) -> list[LiveStreamJson]:
    return [live_stream(stream) for stream in streams]


def panel_categories(live: Iterable[LiveCategory]) -> PanelCategoriesJson:
    """``categories`` of ``panel_api.php``: live ones, and empty movie/series lists until VOD exists."""
    return {"live": live_categories(live), "movie": [], "series": []}


def available_channels(streams: Iterable[LiveStream]) -> dict[str, LiveStreamJson]:
    """``available_channels`` of ``panel_api.php``: streams keyed by their id as a string (``{}`` if none)."""
    return {str(stream.stream_id): live_stream(stream) for stream in streams}


# -- EPG ----------------------------------------------------------------------------------------------------------


def epg_text(value: str) -> str:
    """Title/description of a listing: standard base64 with padding of the UTF-8 text (§1.10, strict decoders)."""
    return base64.b64encode(value.encode("utf-8", "replace")).decode("ascii")


def wall_clock(moment: datetime, tz: ZoneInfo) -> str:
    """``YYYY-mm-dd HH:MM:SS`` of ``moment`` in ``tz`` (what clients read ``server_info.timezone`` for)."""
    return moment.astimezone(tz).strftime(TIME_NOW_FORMAT)


def epg_listing(listing: EpgListing, tz: ZoneInfo) -> EpgListingJson:
    """A listing (§1.10): ids and epochs as strings, ``now_playing``/``has_archive`` ints, ``end`` == ``stop``."""
    stop = wall_clock(listing.stop, tz)
    return {
        "id": str(listing.id),
        "epg_id": str(listing.source_id),
        "title": epg_text(listing.title),
        "lang": listing.lang,
        "start": wall_clock(listing.start, tz),
        "end": stop,
        "stop": stop,
        "description": epg_text(listing.description),
        "channel_id": listing.channel_id,
        "start_timestamp": str(int(listing.start.timestamp())),
        "stop_timestamp": str(int(listing.stop.timestamp())),
        "stream_id": str(listing.stream_id),
        "now_playing": 1 if listing.now_playing else 0,
        "has_archive": 1 if listing.has_archive else 0,
    }


def epg_listings(listings: Iterable[EpgListing], timezone: str) -> EpgListingsJson:
    """``{"epg_listings": [...]}`` with wall-clock times in ``timezone`` (UTC if the name is unknown, as in
    :func:`server_info`)."""
    tz = zone(timezone) or ZoneInfo("UTC")
    return {"epg_listings": [epg_listing(listing, tz) for listing in listings]}


# -- the shapes of what does not exist yet ------------------------------------------------------------------------


def vod_info_empty() -> dict[str, dict[str, object]]:
    """``get_vod_info`` for a movie that does not exist (§1.7): objects, never ``[]``."""
    return {"info": {}, "movie_data": {}}


def series_info_empty() -> dict[str, object]:
    """``get_series_info`` for a series that does not exist (§1.9): ``seasons`` [], ``episodes`` {}."""
    return {"seasons": [], "info": {}, "episodes": {}}


def epg_listings_empty() -> dict[str, list[object]]:
    """``get_short_epg`` / ``get_simple_data_table`` without listings (§1.10): a stream the line may not see."""
    return {"epg_listings": []}


def dumps(value: object) -> bytes:
    """Encode for the wire (orjson: UTF-8, no spaces, non-ASCII kept)."""
    return orjson.dumps(value)


__all__ = [
    "AuthFailureJson",
    "CategoryJson",
    "EpgListing",
    "EpgListingJson",
    "EpgListingsJson",
    "LiveStreamJson",
    "LoginJson",
    "ServerInfoJson",
    "UserInfoJson",
    "auth_failure",
    "available_channels",
    "dumps",
    "epg_listing",
    "epg_listings",
    "epg_listings_empty",
    "epg_text",
    "live_categories",
    "live_category",
    "live_stream",
    "live_streams",
    "login",
    "panel_categories",
    "series_info_empty",
    "server_info",
    "user_info",
    "vod_info_empty",
    "wall_clock",
    "zone",
]
