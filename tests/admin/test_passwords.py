"""Admin password hashing: argon2id with the documented parameters, no exceptions for wrong input."""

from __future__ import annotations

import pytest

from headend.admin.passwords import ADMIN_PASSWORD_MIN, AdminPasswordHasher, generate_admin_password
from headend.admin.principal import Role
from headend.admin.records import AdminInput, check_admin_password
from headend.errors import ValidationError


def test_default_parameters_are_owasp_argon2id() -> None:
    hasher = AdminPasswordHasher()
    stored = hasher.hash("a long enough password")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "a long enough password" not in stored
    assert hasher.verify(stored, "a long enough password")
    assert not hasher.needs_rehash(stored)


def test_salts_differ_and_wrong_or_malformed_input_is_false() -> None:
    hasher = AdminPasswordHasher(memory_cost=1024, time_cost=1)
    first, second = hasher.hash("same password"), hasher.hash("same password")
    assert first != second
    assert hasher.verify(first, "same password")
    assert not hasher.verify(first, "other password")
    assert not hasher.verify("not a hash", "same password")
    assert not hasher.verify("", "")
    assert not hasher.verify(first[:-4], "same password")
    hasher.dummy_verify("anything")  # costs the same, answers nothing, never raises


def test_weaker_parameters_ask_for_a_rehash() -> None:
    weak = AdminPasswordHasher(memory_cost=1024, time_cost=1).hash("password password")
    assert AdminPasswordHasher().needs_rehash(weak)
    assert AdminPasswordHasher().needs_rehash("garbage")


def test_generated_passwords_are_long_and_random() -> None:
    passwords = {generate_admin_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 20 for p in passwords)
    assert all(len(p) >= ADMIN_PASSWORD_MIN for p in passwords)


@pytest.mark.parametrize(
    "password", ["short", "x" * (ADMIN_PASSWORD_MIN - 1), "x" * 1025, "twelve chars\x00ok", "bad \ud800 surrogate!"]
)
def test_bad_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_admin_password(password)
    assert info.value.field == "password"
    with pytest.raises(ValidationError):
        AdminInput(username="alice", role=Role.ADMIN, password=password)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "a b"}, "username"),
        ({"username": "é"}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"username": ".."}, "username"),
        ({"role": "root"}, "role"),
        ({"credits": -1}, "credits"),
        ({"credits": True}, "credits"),
        ({"packages": (0,)}, "packages"),
        ({"notes": "x" * 2001}, "notes"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_admin_input_validates_itself(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        AdminInput(**{"username": "alice", "role": Role.ADMIN} | values)  # type: ignore[arg-type]
    assert info.value.field == field


def test_admin_input_normalises_and_hides_the_password() -> None:
    data = AdminInput(username="Ops.Team-1", role="reseller", password="p" * 12, packages=[3, 1, 3])  # type: ignore[arg-type]
    assert data.role is Role.RESELLER
    assert data.packages == (3, 1)
    assert "pppp" not in repr(data)
