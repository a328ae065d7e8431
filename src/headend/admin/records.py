"""Frozen values of operator administration: accounts, the input that creates one, API tokens, audit entries.

Invariant: a value that exists is valid. :class:`AdminInput` checks itself on construction and raises
:class:`~headend.errors.ValidationError` naming the field, before anything reaches the database:
usernames are 1-64 characters of ``[a-zA-Z0-9._-]``, a given password has at least
:data:`~headend.admin.passwords.ADMIN_PASSWORD_MIN` characters, credits are not negative. Records never
carry a password, a password hash or a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from headend.admin.passwords import ADMIN_PASSWORD_MAX, ADMIN_PASSWORD_MIN
from headend.admin.principal import Role
from headend.catalog.admin_models import ADMIN_NOTES_MAX, ADMIN_USERNAME_MAX
from headend.catalog.records import check_bool, check_int, check_text
from headend.catalog.subscriber_records import check_ids
from headend.errors import ValidationError

CREDITS_MAX: Final = 2**31 - 1  # a 32-bit INTEGER column

_USERNAME: Final = re.compile(rf"[a-zA-Z0-9._-]{{1,{ADMIN_USERNAME_MAX}}}")


def check_admin_username(value: object, field: str = "username") -> str:
    """1-64 characters of ``[a-zA-Z0-9._-]``, not only dots."""
    if not isinstance(value, str) or not _USERNAME.fullmatch(value) or value.strip(".") == "":
        raise ValidationError(f"{field} must be 1-{ADMIN_USERNAME_MAX} characters of a-z A-Z 0-9 . _ -", field=field)
    return value


def check_admin_password(value: object, field: str = "password") -> str:
    """At least :data:`ADMIN_PASSWORD_MIN` characters (any Unicode), at most :data:`ADMIN_PASSWORD_MAX`, no
    control characters (they cannot be typed, and would end up in terminals)."""
    if isinstance(value, str) and len(value) < ADMIN_PASSWORD_MIN:
        raise ValidationError(f"{field} must have at least {ADMIN_PASSWORD_MIN} characters", field=field)
    return check_text(value, field, ADMIN_PASSWORD_MAX)


def check_role(value: object, field: str = "role") -> Role:
    """A :class:`Role`, or the string of one (``"admin"``, ``"operator"``, ``"support"``, ``"reseller"``)."""
    try:
        return Role(value if isinstance(value, str) else "")
    except ValueError:
        raise ValidationError(f"{field} must be one of {', '.join(r.value for r in Role)}", field=field) from None


def check_credits(value: object, field: str = "credits") -> int:
    return check_int(value, field, low=0, high=CREDITS_MAX)


def check_notes(value: object, field: str = "notes") -> str:
    return check_text(value, field, ADMIN_NOTES_MAX)


@dataclass(frozen=True, slots=True)
class AdminAccount:
    """An admin account as stored (never its password or hash). ``packages``: what a reseller may sell."""

    id: int
    username: str
    role: Role
    enabled: bool
    credits: int
    packages: tuple[int, ...]
    notes: str
    created_at: datetime
    last_login_at: datetime | None

    @property
    def audit_kind(self) -> str:
        """The audit log's name for changes of this account: ``reseller.…`` for sub-operators, ``admin.…`` else."""
        return "reseller" if self.role is Role.RESELLER else "admin"


@dataclass(frozen=True, slots=True)
class AdminInput:
    """A new admin account. ``password=None``: one is generated (and returned once by ``AdminAccounts.create``).

    ``credits`` and ``packages`` only matter for resellers (the packages they may sell, by id, in order).
    """

    username: str
    role: Role
    password: str | None = None
    credits: int = 0
    packages: tuple[int, ...] = ()
    notes: str = ""
    enabled: bool = True

    def __post_init__(self) -> None:
        checked = {
            "username": check_admin_username(self.username),
            "role": check_role(self.role),
            "password": None if self.password is None else check_admin_password(self.password),
            "credits": check_credits(self.credits),
            "packages": check_ids(self.packages, "packages"),
            "notes": check_notes(self.notes),
            "enabled": check_bool(self.enabled, "enabled"),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:  # never show the password
        shown = "None" if self.password is None else "'***'"
        return f"AdminInput(username={self.username!r}, role={self.role.value!r}, password={shown})"


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """An API token as listed: its name and display prefix, never the token or its hash."""

    id: int
    admin_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log line. ``actor``: the username at the time (or ``cli`` / ``system``); secrets are ``***``."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, object] | None
    after: dict[str, object] | None
    ip: str


__all__ = [
    "CREDITS_MAX",
    "AdminAccount",
    "AdminInput",
    "ApiTokenRecord",
    "AuditEntry",
    "check_admin_password",
    "check_admin_username",
    "check_credits",
    "check_notes",
    "check_role",
]
