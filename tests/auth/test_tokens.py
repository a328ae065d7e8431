"""SegmentTokens: one good case and every refused case, nginx secure_link-style (reliability.md §2.5)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from headend.auth.tokens import TAG_BYTES, SegmentTokens, TokenClaims
from headend.errors import Forbidden

SECRET = b"k" * 32
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SESSION = "AbCdEfGhIjKlMnOp"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _forge(payload: bytes) -> str:
    """A correctly signed token over any payload (to reach the checks after the tag)."""
    return _b64(payload + SegmentTokens(SECRET, 60)._tag(payload))


def test_issue_then_verify_round_trips() -> None:
    clock = Clock()
    tokens = SegmentTokens(SECRET, 120, clock=clock)
    token = tokens.issue(7, 42, SESSION)
    assert len(token) <= 64
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert tokens.verify(token, 42) == TokenClaims(line_id=7, channel_id=42, session_id=SESSION, expires=int(T0) + 120)
    clock.now += 120  # still valid at the expiry second
    assert tokens.verify(token, 42).line_id == 7


def _flip_last_char(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _tamper_payload(token: str) -> str:
    raw = bytearray(_raw(token))
    raw[5] ^= 0x01  # a bit of line_id
    return _b64(bytes(raw))


def _other_version(token: str) -> str:
    raw = _raw(token)
    return _forge(bytes([2]) + raw[1:-TAG_BYTES])


def _session_len_lies(token: str) -> str:
    raw = bytearray(_raw(token)[:-TAG_BYTES])
    raw[13] += 1
    return _forge(bytes(raw))


def _non_canonical(token: str) -> str:
    """Same bytes, different string: set the unused low bits of the last character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(token) % 4 in (2, 3)
    return token[:-1] + alphabet[alphabet.index(token[-1]) + 1]


CASES: list[tuple[str, Callable[[str], str], str]] = [
    ("expired", lambda t: t, "expired"),  # verified 121 s later, see below
    ("flipped-tag", _flip_last_char, "invalid"),
    ("tampered-payload", _tamper_payload, "invalid"),
    ("truncated", lambda t: t[:-4], "invalid"),
    ("truncated-to-nothing", lambda t: t[:10], "invalid"),
    ("empty", lambda t: "", "invalid"),
    ("extended", lambda t: t + "AAAA", "invalid"),
    ("padding", lambda t: t + "=" * (-len(t) % 4 or 4), "invalid"),
    ("standard-base64", lambda t: t.replace("-", "+").replace("_", "/") + "+/", "invalid"),
    ("bad-char", lambda t: t[:5] + "!" + t[6:], "invalid"),
    ("whitespace", lambda t: t + "\n", "invalid"),
    ("length-1-mod-4", lambda t: t + "A" * ((1 - len(t)) % 4), "invalid"),
    ("non-canonical", _non_canonical, "invalid"),
    ("too-long", lambda t: t * 10, "invalid"),
    ("unknown-version", _other_version, "invalid"),
    ("session-length-mismatch", _session_len_lies, "invalid"),
    ("other-channel", lambda t: t, "another channel"),  # verified for channel 43, see below
]


@pytest.mark.parametrize(("name", "mangle", "message"), CASES, ids=[c[0] for c in CASES])
def test_refused_tokens(name: str, mangle: Callable[[str], str], message: str) -> None:
    clock = Clock()
    tokens = SegmentTokens(SECRET, 120, clock=clock)
    token = mangle(tokens.issue(7, 42, SESSION))
    channel = 43 if name == "other-channel" else 42
    if name == "expired":
        clock.now += 121
    with pytest.raises(Forbidden, match=message):
        tokens.verify(token, channel)


def test_a_token_of_another_secret_is_refused() -> None:
    token = SegmentTokens(b"x" * 32, 120).issue(7, 42, SESSION)
    with pytest.raises(Forbidden, match="invalid"):
        SegmentTokens(SECRET, 120).verify(token, 42)


def test_password_and_token_keys_are_separate() -> None:
    """The same server secret signs tokens and hashes passwords under different derived keys."""
    from headend.auth.passwords import PasswordHasher

    assert SegmentTokens(SECRET, 1)._key != PasswordHasher(SECRET)._key


@pytest.mark.parametrize(
    ("line_id", "channel_id", "session_id"),
    [(-1, 1, SESSION), (1, 2**32, SESSION), (1, 1, ""), (1, 1, "x" * 65), (1, 1, "sé")],
)
def test_issue_refuses_what_it_cannot_encode(line_id: int, channel_id: int, session_id: str) -> None:
    with pytest.raises(ValueError):
        SegmentTokens(SECRET, 1).issue(line_id, channel_id, session_id)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        SegmentTokens(b"", 1)
    with pytest.raises(ValueError):
        SegmentTokens(SECRET, 0)
