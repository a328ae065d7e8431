"""PasswordHasher: keyed, salted, constant-time, and unknown users cost the same work."""

from __future__ import annotations

import pytest

from headend.auth.passwords import SCHEME, PasswordHasher

SECRET = b"s" * 32


def test_hash_format_and_salt() -> None:
    hasher = PasswordHasher(SECRET)
    first, second = hasher.hash("Passw0rd-123"), hasher.hash("Passw0rd-123")
    assert first != second  # a fresh salt every time
    scheme, salt, digest = first.split("$")
    assert (scheme, len(salt), len(digest)) == (SCHEME, 32, 64)
    assert "Passw0rd" not in first


def test_verify_accepts_the_password_only() -> None:
    hasher = PasswordHasher(SECRET)
    stored = hasher.hash("Passw0rd-123")
    assert hasher.verify("Passw0rd-123", stored)
    for wrong in ("Passw0rd-124", "passw0rd-123", "", "Passw0rd-123 ", "Passw0rd-12"):
        assert not hasher.verify(wrong, stored)


def test_the_key_matters() -> None:
    stored = PasswordHasher(SECRET).hash("Passw0rd-123")
    assert not PasswordHasher(b"t" * 32).verify("Passw0rd-123", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "md5$abc$def", f"{SCHEME}$short$" + "0" * 64, f"{SCHEME}${'a' * 32}$" + "0" * 63,
     f"{SCHEME}${'é' * 32}$" + "0" * 64, f"{SCHEME}${'a' * 32}$" + "é" * 64, f"{SCHEME}${'-' * 32}$" + "0" * 64],
)  # fmt: skip
def test_malformed_stored_values_are_false_not_errors(stored: str) -> None:
    assert not PasswordHasher(SECRET).verify("anything", stored)


def test_odd_passwords_do_not_raise() -> None:
    hasher = PasswordHasher(SECRET)
    for odd in ("\ud800", "x" * 10_000, "\x00"):
        assert hasher.verify(odd, hasher.hash(odd))
    hasher.dummy_verify()


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        PasswordHasher(b"")
