"""Keyed password hashes for subscriber lines, cheap enough to check on every stream request.

Stored form: ``hmac-sha256$<salt>$<hex digest>``: HMAC-SHA256 keyed with a key derived from the server
secret, over a per-line random salt and the password (reliability.md §2.3: subscriber stream passwords
are server-generated, high-entropy and revocable, so a keyed fast hash is enough; the key, not the work
factor, is what a stolen database lacks). Invariants: comparisons are constant-time; a malformed stored
value and an unknown user cost the same work as a wrong password (:meth:`PasswordHasher.dummy_verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

SCHEME: Final = "hmac-sha256"
SALT_BYTES: Final = 16
_KEY_CONTEXT: Final = b"headend/line-passwords/v1"


class PasswordHasher:
    """Hash and verify line passwords with a key derived from the server secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the password hasher needs a non-empty secret")
        self._key = hmac.new(secret, _KEY_CONTEXT, hashlib.sha256).digest()
        self._dummy = self.hash(secrets.token_urlsafe(12))

    def _digest(self, salt: str, password: str) -> str:
        message = salt.encode("ascii") + b"$" + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def hash(self, password: str) -> str:
        """``hmac-sha256$<salt>$<hex>`` with a fresh random salt."""
        salt = secrets.token_hex(SALT_BYTES)
        return f"{SCHEME}${salt}${self._digest(salt, password)}"

    def verify(self, password: str, stored: str) -> bool:
        """True if ``password`` matches ``stored``; a malformed ``stored`` is False after the same work."""
        scheme, _, rest = stored.partition("$")
        salt, _, expected = rest.partition("$")
        well_formed = (
            scheme == SCHEME
            and len(salt) == 2 * SALT_BYTES
            and len(expected) == 2 * hashlib.sha256().digest_size
            and (salt + expected).isascii()
            and salt.isalnum()
        )
        if not well_formed:
            self.dummy_verify()
            return False
        return hmac.compare_digest(self._digest(salt, password), expected)

    def dummy_verify(self) -> None:
        """Do the work of one verification against a throw-away hash (unknown users: same timing)."""
        _, salt, expected = self._dummy.split("$")
        hmac.compare_digest(self._digest(salt, "not-a-password"), expected)


__all__ = ["SCHEME", "PasswordHasher"]
