"""Shared type aliases and small protocols (the seams tests inject)."""

from __future__ import annotations

import time
from typing import NewType, Protocol

ChannelId = NewType("ChannelId", int)


class Clock(Protocol):
    """Monotonic time in seconds. Inject a fake one in tests."""

    def __call__(self) -> float: ...


monotonic: Clock = time.monotonic
