"""Fixtures for the relay tests: real ffmpeg-made MPEG-TS streams (see tests/relay/media.py) and a fake clock."""

from __future__ import annotations

import pytest

from tests.relay import media


@pytest.fixture(scope="session")
def av_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """10 s of 320x180 H.264 (GOP 1 s) + AAC."""
    return media.make_media(media.AV, tmp_path_factory)


@pytest.fixture(scope="session")
def long_gop_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """10 s of H.264 + AAC with a single keyframe."""
    return media.make_media(media.LONG_GOP, tmp_path_factory)


@pytest.fixture(scope="session")
def audio_only_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """6 s of AAC, no video."""
    return media.make_media(media.AUDIO_ONLY, tmp_path_factory)


@pytest.fixture(scope="session")
def hevc_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """4 s of HEVC (GOP 1 s), no audio."""
    return media.make_media(media.HEVC, tmp_path_factory)


@pytest.fixture(scope="session")
def cbr5m_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """60 s of H.264 + AAC muxed at a constant 5 Mb/s."""
    return media.make_media(media.CBR_5M, tmp_path_factory)


@pytest.fixture
def clock() -> media.FakeClock:
    return media.FakeClock()
