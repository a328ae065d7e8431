"""Small re-typed models of the strict clients of ``xtream-contract.md`` §1.2 to §1.5, to re-parse our answers.

* Go ``encoding/json`` on tellytv/go.xtream-codes' structs (field types transcribed from ``structs.go``):
  ``int`` with a ``,string`` tag takes only a quoted decimal, a plain ``int`` only a JSON number, a
  ``Timestamp``/``jsonInt`` either, ``ConvertibleBoolean`` 0/1/true/false (quoted or not), ``Timezone`` a name
  ``time.LoadLocation`` knows.
* pyxtream: ``int(exp_date)``, ``int(added)``, ``int(category_id)``, ``int(is_adult)`` (its jsonschema is run
  by the tests themselves, from the installed package).
* Jellyfin.Xtream: ``StringBoolConverter`` casts the token to string (a JSON number throws).
* XStreamity/iptvnator: ``status`` one of four, ``active_cons`` present, lists are arrays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_GO_INT: Final = re.compile(r"-?[0-9]+")  # what strconv.ParseInt/Atoi accept (no spaces, no "+", no "")

GoDecoder = Callable[[object], None]


class GoDecodeError(AssertionError):
    pass


def _int(value: object) -> None:  # Go `int` without ,string
    if type(value) is not int:
        raise GoDecodeError(f"json: cannot unmarshal {value!r} into Go int")


def _string_int(value: object) -> None:  # Go `int` with ,string
    if not isinstance(value, str) or not _GO_INT.fullmatch(value):
        raise GoDecodeError(f"json: invalid use of ,string struct tag, trying to unmarshal {value!r} into int")


def _string(value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise GoDecodeError(f"json: cannot unmarshal {value!r} into Go string")


def _bool(value: object) -> None:
    if not isinstance(value, bool):
        raise GoDecodeError(f"json: cannot unmarshal {value!r} into Go bool")


def _timestamp(value: object) -> None:  # Timestamp / jsonInt: quotes stripped, then Atoi
    text = str(value) if type(value) is int else value
    if not isinstance(text, str) or not _GO_INT.fullmatch(text):
        raise GoDecodeError(f"strconv.Atoi: parsing {value!r}: invalid syntax")


def _convertible_bool(value: object) -> None:
    if value not in (0, 1, "0", "1", "true", "false", True, False):
        raise GoDecodeError(f"Boolean unmarshal error: invalid input {value!r}")


def _string_list(value: object) -> None:
    if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise GoDecodeError(f"json: cannot unmarshal {value!r} into Go []string")


def _timezone(value: object) -> None:
    if not isinstance(value, str):
        raise GoDecodeError("Timezone must be a JSON string")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise GoDecodeError(f"unknown time zone {value}") from None


GO_SERVER_INFO: Final[dict[str, GoDecoder]] = {
    "https_port": _string_int, "port": _string_int, "process": _bool, "rtmp_port": _string_int,
    "server_protocol": _string, "time_now": _string, "timestamp_now": _timestamp, "timezone": _timezone,
    "url": _string,
}  # fmt: skip
GO_USER_INFO: Final[dict[str, GoDecoder]] = {
    "active_cons": _string_int, "allowed_output_formats": _string_list, "auth": _convertible_bool,
    "created_at": _timestamp, "exp_date": _timestamp, "is_trial": _convertible_bool,
    "max_connections": _string_int, "message": _string, "password": _string, "status": _string,
    "username": _string,
}  # fmt: skip
GO_CATEGORY: Final[dict[str, GoDecoder]] = {"category_id": _string_int, "category_name": _string, "parent_id": _int}
GO_STREAM: Final[dict[str, GoDecoder]] = {
    "added": _timestamp, "category_id": _string_int, "container_extension": _string, "custom_sid": _string,
    "direct_source": _string, "epg_channel_id": _string, "stream_icon": _string, "stream_id": _int,
    "name": _string, "num": _int, "rating": _string, "tv_archive": _int, "tv_archive_duration": _timestamp,
    "stream_type": _string,
}  # fmt: skip


def go_decode(value: object, struct: Mapping[str, GoDecoder]) -> None:
    """Decode like ``json.Unmarshal`` into the struct: known fields must convert, unknown ones are ignored."""
    if not isinstance(value, dict):
        raise GoDecodeError(f"json: cannot unmarshal {type(value).__name__} into Go struct")
    for name, decode in struct.items():
        if name in value:
            decode(value[name])


def go_decode_login(payload: object) -> None:
    assert isinstance(payload, dict)
    go_decode(payload["user_info"], GO_USER_INFO)
    go_decode(payload["server_info"], GO_SERVER_INFO)


def pyxtream_stream(stream: Mapping[str, object]) -> None:
    """The conversions pyxtream's ``Channel`` does without a guard."""
    for field in ("added", "category_id", "is_adult"):
        int(str(stream[field]))  # pyxtream does int(value): a str of digits; (an int would pass too)
        assert isinstance(stream[field], str)
    for field in ("name", "stream_type", "stream_id", "stream_icon"):
        assert field in stream, f"pyxtream reads {field} without a default"


def pyxtream_login(payload: Mapping[str, object]) -> None:
    user = payload["user_info"]
    assert isinstance(user, dict)
    int(user["exp_date"])  # TypeError on null: the crash the contract warns about
    assert isinstance(payload["server_info"], dict)


def jellyfin_string_bool(value: object) -> bool:
    """``StringBoolConverter``: ``(string)reader.Value`` — a JSON number is an InvalidCastException."""
    if not isinstance(value, str):
        raise AssertionError(f"InvalidCastException: {value!r} is not a string")
    return value == "1"


def xstreamity_login(payload: Mapping[str, object]) -> None:
    user = payload["user_info"]
    assert isinstance(user, dict)
    assert user["status"] in ("Active", "Banned", "Disabled", "Expired")
    assert "active_cons" in user  # KeyError in XStreamity/XKlass otherwise (Dispatcharr #990)
    assert str(user["auth"]) in ("0", "1")


__all__ = [
    "GO_CATEGORY",
    "GO_SERVER_INFO",
    "GO_STREAM",
    "GO_USER_INFO",
    "GoDecodeError",
    "go_decode",
    "go_decode_login",
    "jellyfin_string_bool",
    "pyxtream_login",
    "pyxtream_stream",
    "xstreamity_login",
]
