"""Typed descriptions of where a channel's media comes from and how ffmpeg treats it.

These are plain frozen dataclasses: the catalog builds them from database rows, the ingest layer turns
them into an ffmpeg argv (``headend.ingest.ffmpeg.build_argv``). Validation happens here, once, when a
source is defined: a URL whose scheme does not fit its kind, or any control character, is refused, so
no client or operator string can smuggle an extra ffmpeg argument or header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from headend.errors import ValidationError


class SourceKind(StrEnum):
    HTTP = "http"  # http(s) MPEG-TS (or anything ffmpeg probes) over HTTP
    HLS = "hls"  # http(s) HLS playlist
    UDP = "udp"  # udp:// unicast or multicast MPEG-TS
    RTP = "rtp"  # rtp:// MPEG-TS over RTP
    SRT = "srt"  # srt:// caller
    RTMP = "rtmp"  # rtmp(s):// pull
    FILE = "file"  # a local file, looped forever
    TESTPATTERN = "testpattern"  # synthetic test pattern: no URL


ALLOWED_SCHEMES: dict[SourceKind, frozenset[str]] = {
    SourceKind.HTTP: frozenset({"http", "https"}),
    SourceKind.HLS: frozenset({"http", "https"}),
    SourceKind.UDP: frozenset({"udp"}),
    SourceKind.RTP: frozenset({"rtp"}),
    SourceKind.SRT: frozenset({"srt"}),
    SourceKind.RTMP: frozenset({"rtmp", "rtmps"}),
    SourceKind.FILE: frozenset(),
    SourceKind.TESTPATTERN: frozenset(),
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source of a channel. ``url`` is a URL for network kinds, an absolute path for FILE, and
    empty for TESTPATTERN (whose look is set by ``label``)."""

    kind: SourceKind
    url: str = ""
    label: str = ""  # TESTPATTERN: text drawn on the picture; otherwise a name for logs
    reconnect: bool = False  # opt-in ffmpeg in-process reconnect for HTTP inputs
    user_agent: str = ""  # optional User-Agent for HTTP(S)/HLS inputs

    def __post_init__(self) -> None:
        validate_source(self)


def validate_source(spec: SourceSpec) -> None:
    """Raise ValidationError if ``spec`` cannot be turned into a safe ffmpeg input."""
    for name in ("url", "label", "user_agent"):
        if _CONTROL.search(getattr(spec, name)):
            raise ValidationError(f"{name} contains a control character", field=name)
    if spec.kind is SourceKind.TESTPATTERN:
        if spec.url:
            raise ValidationError("a test pattern source takes no URL", field="url")
        return
    if spec.kind is SourceKind.FILE:
        if not spec.url.startswith("/"):
            raise ValidationError("a file source needs an absolute path", field="url")
        return
    scheme = urlsplit(spec.url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES[spec.kind]:
        allowed = ", ".join(sorted(ALLOWED_SCHEMES[spec.kind]))
        raise ValidationError(f"a {spec.kind.value} source needs a URL with scheme {allowed}", field="url")
    if spec.url.startswith("-"):
        raise ValidationError("URL must not start with '-'", field="url")


class ProfileMode(StrEnum):
    REMUX = "remux"  # -c copy: no decoding, ~1.5 % of a core per channel
    TRANSCODE = "transcode"  # x264 + AAC


@dataclass(frozen=True, slots=True)
class Profile:
    """How ffmpeg processes a channel. Every option is a typed field; nothing is passed through raw."""

    name: str = "remux"
    mode: ProfileMode = ProfileMode.REMUX
    video_bitrate_kbps: int = 2500
    max_height: int = 720  # scale down to at most this height, keeping the aspect ratio
    fps: int = 25
    gop_seconds: float = 2.0  # fixed GOP: keyframe every gop_seconds (HLS segments are cut there)
    x264_preset: str = "veryfast"
    audio_bitrate_kbps: int = 128

    def __post_init__(self) -> None:
        if self.x264_preset not in X264_PRESETS:
            raise ValidationError(f"unknown x264 preset {self.x264_preset!r}", field="x264_preset")
        checks = (
            (100 <= self.video_bitrate_kbps <= 50_000, "video_bitrate_kbps"),
            (120 <= self.max_height <= 2160, "max_height"),
            (1 <= self.fps <= 120, "fps"),
            (0.2 <= self.gop_seconds <= 10, "gop_seconds"),
            (16 <= self.audio_bitrate_kbps <= 512, "audio_bitrate_kbps"),
        )
        for ok, name in checks:
            if not ok:
                raise ValidationError(f"{name} is out of range", field=name)


X264_PRESETS = frozenset(
    {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
)

REMUX = Profile()


def parse_source(text: str) -> SourceSpec:
    """Build a SourceSpec from one line an operator typed: a URL, an absolute file path, or ``testpattern:LABEL``.

    The kind follows from the scheme (``http(s)`` ending in ``.m3u8`` is HLS); raises ValidationError.
    """
    text = text.strip()
    if text.startswith("testpattern:") or text == "testpattern":
        return SourceSpec(SourceKind.TESTPATTERN, label=text.partition(":")[2])
    if text.startswith("/"):
        return SourceSpec(SourceKind.FILE, url=text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        kind = SourceKind.HLS if parts.path.lower().endswith(".m3u8") else SourceKind.HTTP
        return SourceSpec(kind, url=text)
    for kind, schemes in ALLOWED_SCHEMES.items():
        if scheme in schemes:
            return SourceSpec(kind, url=text)
    raise ValidationError(
        f"unsupported source {text[:80]!r}: use http(s), udp, rtp, srt, rtmp(s), a file path or testpattern:LABEL",
        field="url",
    )
