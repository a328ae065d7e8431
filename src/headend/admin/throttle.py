"""Login throttling: failed admin logins per client address, in memory, over a sliding one-minute window.

After ``attempts_per_minute`` failures from one address within the last 60 seconds, :meth:`retry_after`
answers how long to wait until the oldest of them leaves the window (the control plane answers 429 with
``Retry-After``). There is deliberately no account lockout: locking accounts would let anyone lock the
operator out. A successful login clears the address's failures.

IPv6 clients are counted per /64 network (one host usually holds a whole /64, so counting single
addresses would let it rotate through them). Memory is bounded: at most :data:`MAX_TRACKED` addresses are
tracked; beyond that, addresses whose failures have all left the window are dropped first, then the
longest-unseen ones. ``attempts_per_minute <= 0`` switches throttling off.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable
from typing import Final

WINDOW_S: Final = 60.0
MAX_TRACKED: Final = 100_000


def client_key(ip: str) -> str:
    """What failures are counted by: the IPv4 address, the IPv6 /64 network, or the text as given."""
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class LoginThrottle:
    """Count failed logins per client address (see the module docstring)."""

    def __init__(self, attempts_per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = attempts_per_minute
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, ip: str) -> float:
        """0.0 when a login attempt from ``ip`` is allowed now, else the seconds to wait."""
        if self._limit <= 0:
            return 0.0
        failures = self._failures.get(client_key(ip))
        if not failures:
            return 0.0
        now = self._clock()
        _expire(failures, now)
        if len(failures) < self._limit:
            return 0.0
        return max(failures[-self._limit] + WINDOW_S - now, 0.001)

    def failed(self, ip: str) -> None:
        """Count one failed login from ``ip``."""
        if self._limit <= 0:
            return
        key, now = client_key(ip), self._clock()
        failures = self._failures.pop(key, None)  # re-inserted last: the dict stays ordered by last failure
        if failures is None:
            failures = deque()
            self._make_room(now)
        _expire(failures, now)
        failures.append(now)
        while len(failures) > self._limit:
            failures.popleft()
        self._failures[key] = failures

    def succeeded(self, ip: str) -> None:
        """A login from ``ip`` succeeded: forget its failures."""
        self._failures.pop(client_key(ip), None)

    def _make_room(self, now: float) -> None:
        if len(self._failures) < MAX_TRACKED:
            return
        for key in [k for k, f in self._failures.items() if not f or f[-1] <= now - WINDOW_S]:
            del self._failures[key]
        while len(self._failures) >= MAX_TRACKED:
            del self._failures[next(iter(self._failures))]

    @property
    def tracked(self) -> int:
        """How many client addresses have failures on record (for tests and status pages)."""
        return len(self._failures)


def _expire(failures: deque[float], now: float) -> None:
    while failures and failures[0] <= now - WINDOW_S:
        failures.popleft()


__all__ = ["MAX_TRACKED", "WINDOW_S", "LoginThrottle", "client_key"]
