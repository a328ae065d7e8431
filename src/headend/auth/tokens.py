"""Short-lived signed tokens for HLS segment URLs, so the Xtream password is never repeated in them.

Format (version 1): base64url without padding of ``payload || tag``, where payload is
``version:u8 | expires:u32 (unix seconds) | line_id:u32 | channel_id:u32 | session_len:u8 | session_id``
and ``tag`` is the first 16 bytes (128 bits) of HMAC-SHA256 over the payload, keyed with a key derived
from the server secret. About 60 characters for a 16-character session id.

Invariant: :meth:`SegmentTokens.verify` returns claims only for a token this secret issued, unaltered,
for that channel, not yet expired; anything else (expired, tampered, truncated, extended, bad base64,
padding or a non-canonical encoding, unknown version, another channel) raises Forbidden. The tag is
checked (constant time) before any claim is trusted. The version byte leaves room for key rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from headend.errors import Forbidden

VERSION: Final = 1
TAG_BYTES: Final = 16
SESSION_ID_MAX: Final = 64
TOKEN_MAX_CHARS: Final = 200
_HEADER: Final = struct.Struct(">BIIIB")
_U32_MAX: Final = 2**32 - 1
_KEY_CONTEXT: Final = b"headend/segment-tokens/v1"
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    line_id: int
    channel_id: int
    session_id: str
    expires: int  # unix seconds


class SegmentTokens:
    """Issue and verify segment tokens valid for ``ttl_s`` seconds (``clock``: wall time, unix seconds)."""

    def __init__(self, secret: bytes, ttl_s: float, *, clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("segment tokens need a non-empty secret")
        if ttl_s <= 0:
            raise ValueError("the token lifetime must be positive")
        self._key = hmac.new(secret, _KEY_CONTEXT, hashlib.sha256).digest()
        self._ttl_s = ttl_s
        self._clock = clock

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:TAG_BYTES]

    def issue(self, line_id: int, channel_id: int, session_id: str) -> str:
        """A token for this line, channel and session, expiring ``ttl_s`` from now."""
        session = session_id.encode("ascii")
        if not 0 < len(session) <= SESSION_ID_MAX:
            raise ValueError(f"a session id has 1-{SESSION_ID_MAX} ASCII characters")
        if not (0 <= line_id <= _U32_MAX and 0 <= channel_id <= _U32_MAX):
            raise ValueError("line and channel ids must fit 32 bits")
        expires = min(math.ceil(self._clock() + self._ttl_s), _U32_MAX)
        payload = _HEADER.pack(VERSION, expires, line_id, channel_id, len(session)) + session
        return base64.urlsafe_b64encode(payload + self._tag(payload)).rstrip(b"=").decode("ascii")

    def verify(self, token: str, channel_id: int) -> TokenClaims:
        """The token's claims, or Forbidden (see the module docstring for every refused case)."""
        raw = _decode(token)
        if len(raw) < _HEADER.size + 1 + TAG_BYTES:
            raise Forbidden("invalid segment token")
        payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise Forbidden("invalid segment token")
        version, expires, line_id, token_channel, session_len = _HEADER.unpack_from(payload)
        session = payload[_HEADER.size :]
        if version != VERSION or len(session) != session_len:
            raise Forbidden("invalid segment token")
        if token_channel != channel_id:
            raise Forbidden("segment token is for another channel")
        if self._clock() > expires:
            raise Forbidden("segment token expired")
        return TokenClaims(
            line_id=line_id, channel_id=token_channel, session_id=session.decode("ascii"), expires=expires
        )


def _decode(token: str) -> bytes:
    """Strict base64url: no padding, no foreign characters, canonical trailing bits."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX_CHARS or not _BASE64URL.fullmatch(token):
        raise Forbidden("invalid segment token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise Forbidden("invalid segment token") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise Forbidden("invalid segment token")  # non-canonical: another string for the same bytes
    return raw


__all__ = ["SegmentTokens", "TokenClaims"]
