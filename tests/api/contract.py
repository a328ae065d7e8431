"""The typing table of ``xtream-contract.md`` §1.15, as a checker that walks a whole response.

Every field of every object we emit must be in the table (an unknown field fails too, so nothing new goes
out untyped), and every value must have exactly the JSON type the table says. ``bool`` is not accepted as
an int, an int not as a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

STRING: Final = "string"
INT: Final = "int"
ARRAY: Final = "array"
OBJECT: Final = "object"
BOOL: Final = "bool"
NUMBER: Final = "number"
STRING_OR_NULL: Final = "string|null"

# §1.15 columns, plus the free-text fields of §1.2/§1.4/§1.5 (strings everywhere).
_ALWAYS_STRING: Final = {
    "exp_date", "is_trial", "active_cons", "max_connections", "created_at", "port", "https_port", "rtmp_port",
    "category_id", "added", "last_modified", "rating", "episode_run_time", "is_adult", "custom_sid",
    "direct_source", "stream_icon", "year",
    "username", "password", "message", "status", "url", "server_protocol", "timezone", "time_now",
    "name", "stream_type", "thumbnail", "category_name",
}  # fmt: skip
_ALWAYS_INT: Final = {
    "auth", "timestamp_now", "num", "stream_id", "series_id", "parent_id", "tv_archive", "tv_archive_duration",
    "episode_num", "season", "season_number", "duration_secs", "bitrate", "now_playing", "has_archive",
}  # fmt: skip
_ALWAYS_ARRAY: Final = {
    "allowed_output_formats",
    "category_ids",
    "backdrop_path",
    "seasons",
    "subtitles",
    "epg_listings",
}
_OBJECTS: Final = {
    "info", "movie_data", "video", "audio", "episodes", "user_info", "server_info", "categories",
    "available_channels", "live", "movie", "series",
}  # fmt: skip

TABLE: Final[dict[str, str]] = (
    dict.fromkeys(_ALWAYS_STRING, STRING)
    | dict.fromkeys(_ALWAYS_INT, INT)
    | dict.fromkeys(_ALWAYS_ARRAY, ARRAY)
    | dict.fromkeys(_OBJECTS, OBJECT)
    | {"process": BOOL, "rating_5based": NUMBER, "epg_channel_id": STRING_OR_NULL}
)
# Inside an EPG listing, ids are strings (§1.10 / §1.15 "EPG id/epg_id/…/stream_id").
EPG_LISTING: Final[dict[str, str]] = {
    "id": STRING, "epg_id": STRING, "title": STRING, "lang": STRING, "start": STRING, "end": STRING,
    "stop": STRING, "description": STRING, "channel_id": STRING, "start_timestamp": STRING,
    "stop_timestamp": STRING, "stream_id": STRING, "now_playing": INT, "has_archive": INT,
}  # fmt: skip
# Objects whose keys are data (ids, season numbers), not field names.
_KEYED_BY_DATA: Final = {"available_channels", "episodes"}
# panel_api's ``categories`` holds arrays under live/movie/series (not the objects of the table).
_PANEL_CATEGORY_LISTS: Final = {"live", "movie", "series"}


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return ARRAY
    if isinstance(value, dict):
        return OBJECT
    raise AssertionError(f"not a JSON value: {value!r}")


def _allows(expected: str, actual: str) -> bool:
    if expected == STRING_OR_NULL:
        return actual in (STRING, "null")
    if expected == NUMBER:
        return actual in (INT, NUMBER)
    return expected == actual


def check_types(value: object, path: str = "$", table: Mapping[str, str] = TABLE) -> int:
    """Assert every field under ``value`` has its contract type; returns how many fields were checked."""
    checked = 0
    if isinstance(value, list):
        for index, item in enumerate(value):
            item_table = EPG_LISTING if path.endswith("epg_listings") else table
            checked += check_types(item, f"{path}[{index}]", item_table)
        return checked
    if not isinstance(value, dict):
        return checked
    for key, item in value.items():
        where = f"{path}.{key}"
        if path.endswith(tuple(f".{name}" for name in _KEYED_BY_DATA)):
            checked += check_types(item, where, table)
            continue
        if key in _PANEL_CATEGORY_LISTS and path.endswith(".categories"):
            assert json_type(item) == ARRAY, f"{where} must be an array"
            checked += 1 + check_types(item, where, table)
            continue
        expected = table.get(key)
        assert expected is not None, f"{where}: field not in the contract's typing table"
        actual = json_type(item)
        assert _allows(expected, actual), f"{where} must be {expected}, is {actual} ({item!r})"
        checked += 1 + check_types(item, where, table)
    return checked


__all__ = ["EPG_LISTING", "TABLE", "check_types", "json_type"]
