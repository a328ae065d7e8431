"""Fixtures for the HLS tests: the relay tests' ffmpeg-made streams and fake clock, shared, not copied."""

from __future__ import annotations

from tests.relay.conftest import av_ts, cbr5m_ts, clock, long_gop_ts

__all__ = ["av_ts", "cbr5m_ts", "clock", "long_gop_ts"]
