"""Who is this subscriber, may the line watch now, and from this client?

Invariants:

* An unknown username and a wrong password take the same code path (one lookup, one keyed-hash
  verification) and raise the same :class:`~headend.errors.AuthFailed`: the answer never tells whether a
  user exists (xtream-contract.md §1.3).
* :meth:`LineAuthenticator.authenticate` admits only ACTIVE lines; an inactive line with the right
  password raises :class:`~headend.errors.LineInactive` carrying its status. :meth:`LineAuthenticator.check`
  returns it instead, for the Xtream login answer that must render ``status``.
* Verified credentials are cached for ``auth_cache_s`` under (username, SHA-256 of the password), so a
  stream request costs a dictionary lookup; any change made through the store (its ``generation``) or
  :meth:`LineAuthenticator.invalidate` drops the cache. Past ``auth_cache_s`` an entry is served while
  one background verification refreshes it, and concurrent misses share one verification (no herd when
  entries expire); changes made by another process (the CLI) are seen within twice ``auth_cache_s``.
  The status is recomputed on every call, so a line expires on time.
* Passwords, usernames and addresses are never logged.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from headend.auth.passwords import PasswordHasher
from headend.catalog.subscriber_records import Entitlement, LineRecord, LineStatus
from headend.catalog.subscribers import SubscriberStore
from headend.errors import AuthFailed, LineInactive, NotFound
from headend.settings import SubscriberSettings

logger = logging.getLogger(__name__)

CACHE_MAX_ENTRIES: Final = 50_000
PASSWORD_MAX_CHARS: Final = 1024  # longer input is refused before it is hashed
USERNAME_MAX_CHARS: Final = 64

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AuthenticatedLine:
    """A line whose password was right, what it may watch, and its status at the time of the check."""

    line: LineRecord
    entitlement: Entitlement
    status: LineStatus

    @property
    def id(self) -> int:
        return self.line.id

    @property
    def active(self) -> bool:
        return self.status is LineStatus.ACTIVE

    def allows_output(self, output: str) -> bool:
        """``output`` is ``"ts"`` or ``"m3u8"``, as in ``allowed_outputs``."""
        return output in self.line.allowed_outputs

    def may_watch(self, channel_id: int) -> bool:
        return self.entitlement.allows(channel_id)


@dataclass(frozen=True, slots=True)
class _Entry:
    line: LineRecord
    entitlement: Entitlement
    stored_at: float
    generation: int


class LineAuthenticator:
    """Verify line credentials against the store, with a short verification cache."""

    def __init__(
        self,
        store: SubscriberStore,
        hasher: PasswordHasher,
        settings: SubscriberSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._ttl = settings.auth_cache_s
        self._clock = clock
        self._now = now
        self._cache: dict[tuple[str, bytes], _Entry] = {}
        self._inflight: dict[tuple[str, bytes], asyncio.Future[_Entry]] = {}

    async def authenticate(self, username: str, password: str) -> AuthenticatedLine:
        """The line if it may watch now; AuthFailed for bad credentials, LineInactive otherwise."""
        line = await self.check(username, password)
        if not line.active:
            logger.debug("inactive line refused", extra={"line_id": line.id})
            raise LineInactive(f"this line is {line.status.value.lower()}", status=line.status.value)
        return line

    async def check(self, username: str, password: str) -> AuthenticatedLine:
        """The line with its status, active or not; AuthFailed only for bad credentials."""
        key = (username, hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest())
        entry = self._cached(key)
        if entry is None:
            entry = await self._verify_once(key, username, password)
        elif self._clock() - entry.stored_at >= self._ttl and key not in self._inflight:
            self._refresh_in_background(key, username, password)
        await self._store.touch_last_seen(entry.line.id)
        return AuthenticatedLine(entry.line, entry.entitlement, entry.line.status(self._now()))

    def invalidate(self) -> None:
        """Forget every cached verification (after a change the store did not make itself)."""
        self._cache.clear()

    # -- internals ------------------------------------------------------------------------------------

    async def _verify_once(self, key: tuple[str, bytes], username: str, password: str) -> _Entry:
        """Verify, sharing one verification between concurrent requests with the same credentials."""
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._verify(username, password))
            self._inflight[key] = pending
            pending.add_done_callback(functools.partial(self._settle, key))
        return await asyncio.shield(pending)

    def _settle(self, key: tuple[str, bytes], done: asyncio.Future[_Entry]) -> None:
        self._inflight.pop(key, None)
        if done.cancelled():
            return
        if done.exception() is None:
            self._remember(key, done.result())
        else:
            self._cache.pop(key, None)  # the password changed or the line is gone: no stale entry serves on

    def _refresh_in_background(self, key: tuple[str, bytes], username: str, password: str) -> None:
        """Serve the expired entry once more while one verification refreshes it (no expiry herd)."""
        pending = asyncio.ensure_future(self._verify(username, password))
        self._inflight[key] = pending
        pending.add_done_callback(functools.partial(self._settle, key))

    async def _verify(self, username: str, password: str) -> _Entry:
        generation = self._store.generation  # before the lookup: a change meanwhile makes the entry stale
        plausible = len(username) <= USERNAME_MAX_CHARS and len(password) <= PASSWORD_MAX_CHARS
        found = await self._store.find_credentials(username) if plausible else None
        if found is None:
            self._hasher.dummy_verify()
            raise AuthFailed("invalid username or password")
        record, stored = found
        if not self._hasher.verify(password, stored):
            raise AuthFailed("invalid username or password")
        try:
            entitlement = await self._store.entitlement(record.id)
        except NotFound:  # deleted between the two reads
            raise AuthFailed("invalid username or password") from None
        return _Entry(record, entitlement, self._clock(), generation)

    def _cached(self, key: tuple[str, bytes]) -> _Entry | None:
        """A usable entry: same store generation, and younger than twice the TTL (past one TTL it is served
        while a refresh runs, so other processes' changes are seen within twice ``auth_cache_s``)."""
        entry = self._cache.get(key)
        if entry is None:
            return None
        if self._clock() - entry.stored_at < 2 * self._ttl and entry.generation == self._store.generation:
            return entry
        del self._cache[key]
        return None

    def _remember(self, key: tuple[str, bytes], entry: _Entry) -> None:
        if self._ttl <= 0:
            return
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            self._prune()
        self._cache[key] = entry

    def _prune(self) -> None:
        """Drop stale entries; if the cache is still full, the oldest half (dicts keep insertion order)."""
        now, generation = self._clock(), self._store.generation
        self._cache = {
            k: e for k, e in self._cache.items() if now - e.stored_at < 2 * self._ttl and e.generation == generation
        }
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            keep = list(self._cache.items())[CACHE_MAX_ENTRIES // 2 :]
            self._cache = dict(keep)


# -- client allow-lists ---------------------------------------------------------------------------------


def allows_client(line: LineRecord | AuthenticatedLine, ip: str, user_agent: str) -> bool:
    """True if the client's address is in the line's IP allow-list and its user agent contains one of the
    allowed substrings (case-insensitive). An empty list allows everything; an unparseable address is
    refused by a non-empty list. IPv4-mapped IPv6 addresses match IPv4 rules."""
    record = line.line if isinstance(line, AuthenticatedLine) else line
    return _ip_allowed(record.allowed_ips, ip) and _user_agent_allowed(record.allowed_user_agents, user_agent)


def _ip_allowed(rules: tuple[str, ...], ip: str) -> bool:
    if not rules:
        return True
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(rules))


@functools.lru_cache(maxsize=4096)
def _networks(rules: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(rule, strict=False) for rule in rules)


def _user_agent_allowed(rules: tuple[str, ...], user_agent: str) -> bool:
    if not rules:
        return True
    folded = user_agent.casefold()
    return any(rule.casefold() in folded for rule in rules)


__all__ = ["AuthenticatedLine", "LineAuthenticator", "allows_client"]
