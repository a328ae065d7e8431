"""Frozen values for subscribers: lines, packages, bouquets and what a line may watch.

Invariant: a value that exists is valid. Inputs (:class:`LineInput`, :class:`LinePatch`,
:class:`PackageInput`, :class:`PackagePatch`) check themselves on construction and raise
:class:`~headend.errors.ValidationError` naming the field, before anything reaches the database:
usernames and passwords are URL-path safe (they travel in ``/live/USER/PASS/ID.ts``), IP allow-lists
parse as addresses or CIDR networks, output formats are ``ts``/``m3u8``, timestamps are timezone-aware
UTC. Lists are normalised to de-duplicated tuples, so records compare and hash by value.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from headend.catalog.records import UNSET, Unset, check_bool, check_int, check_text
from headend.errors import ValidationError
from headend.types import ChannelId

USERNAME_MAX: Final = 64
PASSWORD_MIN: Final = 8
PASSWORD_MAX: Final = 64
PASSWORD_HASH_MAX: Final = 200
BOUQUET_NAME_MAX: Final = 200
PACKAGE_NAME_MAX: Final = 200
NOTES_MAX: Final = 2000
BAN_REASON_MAX: Final = 500
USER_AGENT_RULE_MAX: Final = 200
ALLOWED_IPS_MAX: Final = 100
ALLOWED_USER_AGENTS_MAX: Final = 50
MAX_CONNECTIONS_MAX: Final = 1000
CREDIT_COST_MAX: Final = 1_000_000
DURATION_DAYS_MAX: Final = 36_500  # a hundred years

OUTPUT_FORMATS: Final = ("ts", "m3u8")
"""Every output a line or package may allow, in the default order."""

_USERNAME: Final = re.compile(rf"[A-Za-z0-9._@-]{{1,{USERNAME_MAX}}}")
_PASSWORD: Final = re.compile(rf"[A-Za-z0-9._~@-]{{{PASSWORD_MIN},{PASSWORD_MAX}}}")


class LineStatus(StrEnum):
    """What the Xtream login answer calls ``status``; only ACTIVE may watch."""

    ACTIVE = "Active"
    BANNED = "Banned"
    DISABLED = "Disabled"
    EXPIRED = "Expired"


# -- field checks ---------------------------------------------------------------------------------


def check_username(value: object, field: str = "username") -> str:
    """1-64 characters of ``[A-Za-z0-9._@-]``: safe in a URL path, a log line and an M3U file."""
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise ValidationError(f"{field} must be 1-{USERNAME_MAX} characters of A-Z a-z 0-9 . _ @ -", field=field)
    if value.strip(".") == "":
        raise ValidationError(
            f"{field} must not be made of dots only (it could never appear in a URL path)", field=field
        )
    return value


def check_password(value: object, field: str = "password") -> str:
    """8-64 URL-unreserved characters (``[A-Za-z0-9._~@-]``): players put it in URL paths unescaped."""
    if not isinstance(value, str) or not _PASSWORD.fullmatch(value):
        raise ValidationError(
            f"{field} must be {PASSWORD_MIN}-{PASSWORD_MAX} characters of A-Z a-z 0-9 . _ ~ @ -", field=field
        )
    return value


def check_utc(value: object, field: str) -> datetime:
    """A timezone-aware datetime, converted to UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{field} must be a timezone-aware datetime", field=field)
    return value.astimezone(UTC)


def _sequence(value: object, field: str, limit: int) -> list[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} must be a list", field=field)
    items = list(value)
    if len(items) > limit:
        raise ValidationError(f"{field} has more than {limit} entries", field=field)
    return items


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def check_outputs(value: object, field: str = "allowed_outputs") -> tuple[str, ...]:
    """A non-empty, de-duplicated tuple of ``ts``/``m3u8`` (order kept: players fall back to the first)."""
    items = _sequence(value, field, len(OUTPUT_FORMATS) * 2)
    for item in items:
        if item not in OUTPUT_FORMATS:
            raise ValidationError(f"{field}: {str(item)[:20]!r} is not one of ts, m3u8", field=field)
    if not items:
        raise ValidationError(f"{field} must allow at least one output", field=field)
    return _unique(str(item) for item in items)


def _normalise_network(item: object, field: str) -> str:
    if not isinstance(item, str) or len(item) > 64:
        raise ValidationError(f"{field}: every entry must be an IP address or CIDR network", field=field)
    try:
        network = ipaddress.ip_network(item.strip(), strict=False)
    except ValueError:
        raise ValidationError(f"{field}: {item[:64]!r} is not an IP address or CIDR network", field=field) from None
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


def check_ips(value: object, field: str = "allowed_ips") -> tuple[str, ...]:
    """IP addresses and CIDR networks, normalised (``10.1.2.3/8`` → ``10.0.0.0/8``); empty = any address."""
    return _unique(_normalise_network(item, field) for item in _sequence(value, field, ALLOWED_IPS_MAX))


def check_user_agents(value: object, field: str = "allowed_user_agents") -> tuple[str, ...]:
    """Non-empty user-agent substrings without control characters; empty list = any user agent."""
    items = _sequence(value, field, ALLOWED_USER_AGENTS_MAX)
    return _unique(check_text(item, field, USER_AGENT_RULE_MAX, required=True) for item in items)


def _days(value: object, field: str = "days") -> int:
    return check_int(value, field, low=1, high=DURATION_DAYS_MAX)


def _connections(value: object, field: str = "max_connections") -> int:
    return check_int(value, field, low=1, high=MAX_CONNECTIONS_MAX)


def check_owner(value: object, field: str = "owner_id") -> int | None:
    """None (the operator's own line) or the id of the admin account that owns the line."""
    return None if value is None else check_int(value, field)


def check_credit_cost(value: object, field: str = "credit_cost") -> int:
    """What a reseller pays for a line or a renewal of this package: 0 (free) to 1,000,000 credits."""
    return check_int(value, field, low=0, high=CREDIT_COST_MAX)


def check_ids(value: object, field: str) -> tuple[int, ...]:
    """Positive integer ids, de-duplicated, order kept."""
    return tuple(dict.fromkeys(check_int(item, field) for item in _sequence(value, field, 10_000)))


# -- inputs -----------------------------------------------------------------------------------------


def _normalise(obj: object, names: Iterable[str], checks: dict[str, Callable[[object], object]]) -> None:
    """Run each named field through its check and store the normalised value (frozen dataclasses)."""
    for name in names:
        value = getattr(obj, name)
        if value is not UNSET:
            object.__setattr__(obj, name, checks[name](value))


_LINE_CHECKS: Final[dict[str, Callable[[object], object]]] = {
    "username": check_username,
    "password": lambda v: None if v is None else check_password(v),
    "package_ids": lambda v: check_ids(v, "package_ids"),
    "days": lambda v: None if v is None else _days(v),
    "exp_at": lambda v: None if v is None else check_utc(v, "exp_at"),
    "max_connections": lambda v: None if v is None else _connections(v),
    "allowed_outputs": lambda v: None if v is None else check_outputs(v),
    "is_trial": lambda v: None if v is None else check_bool(v, "is_trial"),
    "enabled": lambda v: check_bool(v, "enabled"),
    "allowed_ips": check_ips,
    "allowed_user_agents": check_user_agents,
    "notes": lambda v: check_text(v, "notes", NOTES_MAX),
    "owner_id": check_owner,
}


@dataclass(frozen=True, slots=True)
class LineInput:
    """A new line (subscriber account).

    Left at None, a setting comes from the packages: ``max_connections`` the largest, ``allowed_outputs``
    the union, ``is_trial`` true if any is a trial, the expiry now + the longest ``duration_days``.
    Without packages: 1 connection, both outputs, no trial, never expires. ``days`` and ``exp_at`` are
    alternatives. ``password=None`` generates one. ``owner_id``: the reseller account that sold it (None: the
    operator's own line).
    """

    username: str
    password: str | None = None
    package_ids: tuple[int, ...] = ()
    days: int | None = None
    exp_at: datetime | None = None
    max_connections: int | None = None
    allowed_outputs: tuple[str, ...] | None = None
    is_trial: bool | None = None
    enabled: bool = True
    allowed_ips: tuple[str, ...] = ()
    allowed_user_agents: tuple[str, ...] = ()
    notes: str = ""
    owner_id: int | None = None

    def __post_init__(self) -> None:
        _normalise(self, (f.name for f in dataclasses.fields(self)), _LINE_CHECKS)
        if self.days is not None and self.exp_at is not None:
            raise ValidationError("give days or exp_at, not both", field="days")

    def __repr__(self) -> str:  # never show the password
        shown = "None" if self.password is None else "'***'"
        return f"LineInput(username={self.username!r}, password={shown}, package_ids={self.package_ids!r})"


@dataclass(frozen=True, slots=True)
class LinePatch:
    """Changes to a line: only fields not left at :data:`UNSET` are written. ``exp_at=None``: never expires.

    Packages, bans, the enabled flag and the password have their own store methods.
    """

    username: str | Unset = UNSET
    exp_at: datetime | Unset | None = UNSET
    max_connections: int | Unset = UNSET
    allowed_outputs: tuple[str, ...] | Unset = UNSET
    is_trial: bool | Unset = UNSET
    allowed_ips: tuple[str, ...] | Unset = UNSET
    allowed_user_agents: tuple[str, ...] | Unset = UNSET
    notes: str | Unset = UNSET
    owner_id: int | Unset | None = UNSET  # None: no reseller owns it any more

    def __post_init__(self) -> None:
        checks = _LINE_CHECKS | {
            "max_connections": _connections,
            "allowed_outputs": check_outputs,
            "is_trial": lambda v: check_bool(v, "is_trial"),
        }
        _normalise(self, (f.name for f in dataclasses.fields(self)), checks)

    def changes(self) -> dict[str, object]:
        """The fields that are set, by name."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: value for name, value in values.items() if value is not UNSET}


_PACKAGE_CHECKS: Final[dict[str, Callable[[object], object]]] = {
    "name": lambda v: check_text(v, "name", PACKAGE_NAME_MAX, required=True),
    "duration_days": lambda v: _days(v, "duration_days"),
    "max_connections": _connections,
    "allowed_outputs": check_outputs,
    "is_trial": lambda v: check_bool(v, "is_trial"),
    "enabled": lambda v: check_bool(v, "enabled"),
    "bouquet_ids": lambda v: check_ids(v, "bouquet_ids"),
    "credit_cost": check_credit_cost,
}


@dataclass(frozen=True, slots=True)
class PackageInput:
    """A new package: what a line gets for ``duration_days`` (bouquets in order, limits, outputs), and what a
    reseller pays for it in credits (``credit_cost``, per line created or renewed)."""

    name: str
    duration_days: int = 30
    max_connections: int = 1
    allowed_outputs: tuple[str, ...] = OUTPUT_FORMATS
    is_trial: bool = False
    enabled: bool = True
    bouquet_ids: tuple[int, ...] = ()
    credit_cost: int = 1

    def __post_init__(self) -> None:
        _normalise(self, (f.name for f in dataclasses.fields(self)), _PACKAGE_CHECKS)


@dataclass(frozen=True, slots=True)
class PackagePatch:
    """Changes to a package; bouquets are set with ``SubscriberStore.set_package_bouquets``."""

    name: str | Unset = UNSET
    duration_days: int | Unset = UNSET
    max_connections: int | Unset = UNSET
    allowed_outputs: tuple[str, ...] | Unset = UNSET
    is_trial: bool | Unset = UNSET
    enabled: bool | Unset = UNSET
    credit_cost: int | Unset = UNSET

    def __post_init__(self) -> None:
        _normalise(self, (f.name for f in dataclasses.fields(self)), _PACKAGE_CHECKS)

    def changes(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: value for name, value in values.items() if value is not UNSET}


def check_bouquet_name(value: object) -> str:
    return check_text(value, "name", BOUQUET_NAME_MAX, required=True)


# -- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineRecord:
    """A line as stored (never its password or hash). Timestamps are UTC and timezone-aware."""

    id: int
    username: str
    exp_at: datetime | None  # None: never expires
    enabled: bool
    banned: bool
    ban_reason: str
    is_trial: bool
    max_connections: int
    allowed_outputs: tuple[str, ...]
    allowed_ips: tuple[str, ...]  # empty: any address
    allowed_user_agents: tuple[str, ...]  # empty: any user agent
    notes: str
    created_at: datetime
    last_seen_at: datetime | None
    package_ids: tuple[int, ...]  # in assignment order
    owner_id: int | None = None  # the reseller account that sold it; None: the operator's own line

    def status(self, now: datetime) -> LineStatus:
        """Banned wins over disabled, disabled over expired; a line expires at ``exp_at`` exactly."""
        if self.banned:
            return LineStatus.BANNED
        if not self.enabled:
            return LineStatus.DISABLED
        if self.exp_at is not None and now >= self.exp_at:
            return LineStatus.EXPIRED
        return LineStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class BouquetRecord:
    id: int
    name: str
    position: int
    channel_ids: tuple[ChannelId, ...]  # in bouquet order (disabled channels included)


@dataclass(frozen=True, slots=True)
class PackageRecord:
    id: int
    name: str
    duration_days: int
    max_connections: int
    allowed_outputs: tuple[str, ...]
    is_trial: bool
    enabled: bool
    bouquet_ids: tuple[int, ...]  # in package order
    credit_cost: int = 1  # credits a reseller pays per line created or renewed with this package


@dataclass(frozen=True)  # no slots: ``channel_set`` is computed once and cached on the instance
class Entitlement:
    """The enabled channels a line may watch, in package → bouquet → channel order, without repeats.

    ``key`` fingerprints the ordered bouquet list: lines with the same bouquets share it, so a serialised
    catalogue body can be cached per (catalog version, key). It does not depend on the line or its status.
    """

    line_id: int
    channel_ids: tuple[ChannelId, ...]
    key: str
    bouquet_ids: tuple[int, ...] = ()

    @functools.cached_property
    def channel_set(self) -> frozenset[int]:
        return frozenset(self.channel_ids)

    def allows(self, channel_id: int) -> bool:
        """True if the line's bouquets hold this enabled channel (O(1) after the first call)."""
        return channel_id in self.channel_set


__all__ = [
    "BAN_REASON_MAX",
    "BOUQUET_NAME_MAX",
    "CREDIT_COST_MAX",
    "NOTES_MAX",
    "OUTPUT_FORMATS",
    "PACKAGE_NAME_MAX",
    "PASSWORD_HASH_MAX",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "USERNAME_MAX",
    "USER_AGENT_RULE_MAX",
    "BouquetRecord",
    "Entitlement",
    "LineInput",
    "LinePatch",
    "LineRecord",
    "LineStatus",
    "PackageInput",
    "PackagePatch",
    "PackageRecord",
    "check_bouquet_name",
    "check_credit_cost",
    "check_ids",
    "check_ips",
    "check_outputs",
    "check_owner",
    "check_password",
    "check_user_agents",
    "check_username",
    "check_utc",
]
