"""Admin account passwords: argon2id, deliberately slow, unlike the keyed fast hash of subscriber lines.

Admin passwords are chosen by people and guard the whole platform, so a stolen database must not make them
cheap to guess: each hash costs memory and time (reliability.md §2.3). Parameters follow the OWASP password
storage cheat sheet's first argon2id configuration: ``m = 19 MiB (19456 KiB), t = 2, p = 1``, a 16-byte
random salt and a 32-byte tag, in the standard PHC string form (``$argon2id$v=19$m=19456,t=2,p=1$…``), so
the parameters travel with each hash and can be raised later (:meth:`AdminPasswordHasher.needs_rehash`).

Invariants: :meth:`~AdminPasswordHasher.verify` never raises for a wrong password or a malformed stored
value (it answers False); :meth:`~AdminPasswordHasher.dummy_verify` costs the same as a real verification,
so an unknown username takes as long as a wrong password. These calls are CPU-bound (tens of ms): async
callers run them in a worker thread (``headend.admin.accounts``).
"""

from __future__ import annotations

import secrets
from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

ADMIN_PASSWORD_MIN: Final = 12
"""Shortest admin password accepted (NIST SP 800-63B asks for length, not composition rules)."""
ADMIN_PASSWORD_MAX: Final = 1024
"""Longest admin password accepted: bounds the hashing work an anonymous login request can cause."""

MEMORY_COST_KIB: Final = 19 * 1024
TIME_COST: Final = 2
PARALLELISM: Final = 1
HASH_LEN: Final = 32
SALT_LEN: Final = 16

GENERATED_PASSWORD_BYTES: Final = 18  # 24 URL-safe characters, 144 bits


def generate_admin_password() -> str:
    """A random password of 24 URL-safe characters from the system CSPRNG (144 bits)."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


class AdminPasswordHasher:
    """argon2id hashing and verification of admin passwords (see the module docstring for the parameters).

    The cost parameters can be lowered for tests; production uses the defaults.
    """

    def __init__(
        self, *, memory_cost: int = MEMORY_COST_KIB, time_cost: int = TIME_COST, parallelism: int = PARALLELISM
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=HASH_LEN,
            salt_len=SALT_LEN,
            type=argon2.Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """A PHC-format argon2id hash of ``password`` with a fresh random salt."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True if ``password`` matches ``password_hash``; False for a wrong password or a malformed hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_verify(self, password: str) -> None:
        """Do the work of one verification against a throw-away hash (for unknown usernames)."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when ``password_hash`` was made with other parameters than this hasher's (rehash at login)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True


__all__ = ["ADMIN_PASSWORD_MAX", "ADMIN_PASSWORD_MIN", "AdminPasswordHasher", "generate_admin_password"]
