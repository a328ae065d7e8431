"""Login throttling: a sliding one-minute window per client address, driven by an injected clock."""

from __future__ import annotations

import pytest

from headend.admin import throttle as throttle_mod
from headend.admin.throttle import LoginThrottle, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attempts_are_refused_after_the_limit_until_the_window_slides() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("192.0.2.1") == 0.0
        throttle.failed("192.0.2.1")
        clock.now += 10
    # failures at 1000, 1010, 1020; now 1030: the first leaves the window at 1060
    assert throttle.retry_after("192.0.2.1") == pytest.approx(30.0)
    assert throttle.retry_after("192.0.2.2") == 0.0, "other addresses are not affected"
    clock.now = 1060.0
    assert throttle.retry_after("192.0.2.1") == 0.0
    throttle.failed("192.0.2.1")  # 1010, 1020, 1060: full again until 1070
    assert throttle.retry_after("192.0.2.1") == pytest.approx(10.0)


def test_success_clears_the_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(2, clock=clock)
    throttle.failed("198.51.100.7")
    throttle.failed("198.51.100.7")
    assert throttle.retry_after("198.51.100.7") > 0
    throttle.succeeded("198.51.100.7")
    assert throttle.retry_after("198.51.100.7") == 0.0
    assert throttle.tracked == 0


def test_ipv6_is_counted_per_64_network() -> None:
    clock = Clock()
    throttle = LoginThrottle(2, clock=clock)
    throttle.failed("2001:db8:1:2::1")
    throttle.failed("2001:db8:1:2:ffff::9")
    assert throttle.retry_after("2001:db8:1:2::abcd") > 0
    assert throttle.retry_after("2001:db8:1:3::1") == 0.0
    assert client_key("::ffff:192.0.2.9") == "192.0.2.9"
    assert client_key("[::1]") == "::/64"
    assert client_key("not an address") == "not an address"


def test_zero_switches_throttling_off() -> None:
    throttle = LoginThrottle(0, clock=Clock())
    for _ in range(100):
        throttle.failed("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") == 0.0
    assert throttle.tracked == 0


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle_mod, "MAX_TRACKED", 5)
    clock = Clock()
    throttle = LoginThrottle(1, clock=clock)
    for i in range(5):
        throttle.failed(f"192.0.2.{i}")
    clock.now += 61  # all of those have left the window: dropped first
    throttle.failed("198.51.100.1")
    assert throttle.tracked == 1
    for i in range(10):
        throttle.failed(f"203.0.113.{i}")  # all live: the longest-unseen go
    assert throttle.tracked == 5
    assert throttle.retry_after("203.0.113.9") > 0
    assert throttle.retry_after("198.51.100.1") == 0.0
