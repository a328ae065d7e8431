"""Find the ffmpeg binary and build its command line from typed values (pure, no I/O besides lookups).

Promises:

* :func:`build_argv` builds the argv only from validated fields of :class:`SourceSpec`, :class:`Profile`
  and :class:`IngestSettings`; it is executed without a shell, so no value can become a second argument.
* Every input except the synthetic lavfi test pattern carries ``-protocol_whitelist`` for its kind
  (reliability.md F15/F16); network inputs get a read timeout, so a half-dead upstream cannot hang ffmpeg.
* ffmpeg writes MPEG-TS to ``pipe:1`` and ``-progress`` key=value blocks, mixed with its log lines, to
  stderr once per second (:mod:`headend.ingest.process` separates them).
* Operator text drawn on the test pattern is reduced to a safe character set, so it can never leave the
  ``drawtext`` text option; without a usable font the text is simply left out.
"""

from __future__ import annotations

import enum
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from headend.errors import FfmpegNotFound
from headend.ingest.sources import Profile, ProfileMode, SourceKind, SourceSpec
from headend.settings import IngestSettings

GLOBAL_ARGS: tuple[str, ...] = (
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "warning",
    "-nostats",
    "-progress",
    "pipe:2",
    "-stats_period",
    "1",
)

PROTOCOL_WHITELIST: dict[SourceKind, str] = {
    SourceKind.HTTP: "http,https,tcp,tls",
    SourceKind.HLS: "http,https,tcp,tls,crypto",
    SourceKind.UDP: "udp,rtp",
    SourceKind.RTP: "udp,rtp",
    SourceKind.SRT: "srt,udp",
    SourceKind.RTMP: "rtmp,rtmps,tcp,tls",
    SourceKind.FILE: "file",
}

FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
ANALYZE_DURATION_S = 2.0
"""How much of a live network input ffmpeg probes before it writes anything (its default, 5 s, is 5 s of
start-up delay on a real-time stream; 2 s still covers the usual 1-2 s GOP)."""
LABEL_MAX_CHARS = 64
_LABEL_PUNCTUATION = frozenset(" _.+-#()/!?@&*")  # none of these means anything to the filter parser
_SAFE_FONT_PATH = re.compile(r"[A-Za-z0-9/._\-]+")
APT_HINT = "install it with: sudo apt-get install ffmpeg"


class _Auto(enum.Enum):
    FONT = "auto"


AUTO_FONT = _Auto.FONT
"""Default of ``build_argv(font_file=...)``: use the first of :data:`FONT_CANDIDATES` that exists."""


def locate_ffmpeg(configured: str) -> str:
    """Return the ffmpeg to run: ``configured`` if set, else ffmpeg on PATH, else imageio-ffmpeg's build."""
    if configured:
        path = Path(configured)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise FfmpegNotFound(f"ingest.ffmpeg is set to {configured!r}, which is not an executable file")
        return str(path)
    found = shutil.which("ffmpeg")
    if found:
        return found
    missing = f"ffmpeg was not found on PATH; {APT_HINT} (or: pip install 'headend[ffmpeg]')"
    try:
        import imageio_ffmpeg  # optional extra, imported only when nothing else was found
    except ImportError:
        raise FfmpegNotFound(missing) from None
    try:
        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # imageio-ffmpeg installed without a binary for this platform
        raise FfmpegNotFound(missing) from None
    return exe


def find_font(candidates: tuple[str, ...] = FONT_CANDIDATES) -> str | None:
    """The first existing font file whose path needs no escaping in a filter graph, or None."""
    for candidate in candidates:
        if _SAFE_FONT_PATH.fullmatch(candidate) and Path(candidate).is_file():
            return candidate
    return None


def safe_label(label: str) -> str:
    """``label`` reduced to letters, digits, spaces and harmless punctuation (at most 64 characters)."""
    kept = "".join(ch for ch in label if ch.isalnum() or ch in _LABEL_PUNCTUATION)
    return " ".join(kept.split())[:LABEL_MAX_CHARS].strip()


def build_argv(
    ffmpeg: str,
    source: SourceSpec,
    profile: Profile,
    settings: IngestSettings,
    *,
    ts_offset_s: float = 0.0,
    font_file: str | _Auto | None = AUTO_FONT,
) -> list[str]:
    """The complete ffmpeg argv for ``source`` processed with ``profile``, writing MPEG-TS to stdout."""
    argv = [ffmpeg, *GLOBAL_ARGS]
    if source.kind is SourceKind.TESTPATTERN:
        font = find_font() if font_file is AUTO_FONT else font_file
        argv += _testpattern_inputs(source, profile, font if isinstance(font, str) else None)
        argv += ["-map", "0:v:0", "-map", "1:a:0"]
        argv += _video_encode(_pattern_profile(profile), scale=False) + _audio_encode(profile)
    else:
        argv += _INPUT_BUILDERS[source.kind](source, settings)
        argv += ["-map", "0:v:0?", "-map", "0:a?"]
        if profile.mode is ProfileMode.REMUX:
            argv += ["-c", "copy"]
        else:
            argv += _video_encode(profile, scale=True) + _audio_encode(profile)
    argv += ["-f", "mpegts", "-flush_packets", "1"]
    if ts_offset_s > 0:
        argv += ["-output_ts_offset", f"{ts_offset_s:.3f}"]
    argv.append("pipe:1")
    return argv


def _whitelist(kind: SourceKind) -> list[str]:
    return ["-protocol_whitelist", PROTOCOL_WHITELIST[kind]]


def _network(kind: SourceKind) -> list[str]:
    return [*_whitelist(kind), "-analyzeduration", _microseconds(ANALYZE_DURATION_S)]


def _microseconds(seconds: float) -> str:
    return str(round(seconds * 1_000_000))


def _http_input(source: SourceSpec, settings: IngestSettings) -> list[str]:
    args = [*_network(source.kind), "-rw_timeout", _microseconds(settings.rw_timeout_s)]
    if source.user_agent:
        args += ["-user_agent", source.user_agent]
    if source.reconnect:
        args += ["-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_network_error", "1"]
        args += ["-reconnect_delay_max", "5"]
    if source.kind is SourceKind.HLS:
        args += ["-f", "hls"]
    return [*args, "-i", source.url]


def _socket_input(source: SourceSpec, settings: IngestSettings) -> list[str]:
    # udp, rtp and srt call their read timeout "timeout" (microseconds); rtmp's "timeout" means listen mode.
    return [*_network(source.kind), "-timeout", _microseconds(settings.rw_timeout_s), "-i", source.url]


def _rtmp_input(source: SourceSpec, settings: IngestSettings) -> list[str]:
    return [*_network(source.kind), "-rw_timeout", _microseconds(settings.rw_timeout_s), "-i", source.url]


def _file_input(source: SourceSpec, settings: IngestSettings) -> list[str]:
    # "file:" makes sure a path like "/x/concat:y" or "/x/a|b" is only ever read as a local file.
    return [*_whitelist(source.kind), "-re", "-stream_loop", "-1", "-i", f"file:{source.url}"]


_INPUT_BUILDERS: dict[SourceKind, Callable[[SourceSpec, IngestSettings], list[str]]] = {
    SourceKind.HTTP: _http_input,
    SourceKind.HLS: _http_input,
    SourceKind.UDP: _socket_input,
    SourceKind.RTP: _socket_input,
    SourceKind.SRT: _socket_input,
    SourceKind.RTMP: _rtmp_input,
    SourceKind.FILE: _file_input,
}


def _pattern_size(profile: Profile) -> tuple[int, int]:
    height = profile.max_height - profile.max_height % 2
    width = round(height * 16 / 9 / 2) * 2
    return width, height


def _testpattern_inputs(source: SourceSpec, profile: Profile, font: str | None) -> list[str]:
    width, height = _pattern_size(profile)
    video = f"testsrc2=size={width}x{height}:rate={profile.fps}"
    text = safe_label(source.label)
    if font and text and _SAFE_FONT_PATH.fullmatch(font):
        size = max(12, height // 10)
        video += (
            f",drawtext=fontfile={font}:expansion=none:text={text}:fontsize={size}:fontcolor=white"
            f":box=1:boxcolor=black@0.6:boxborderw={size // 4}:x=(w-text_w)/2:y=h-text_h-{size}"
        )
    audio = "sine=frequency=1000:sample_rate=48000"
    return ["-re", "-f", "lavfi", "-i", video, "-re", "-f", "lavfi", "-i", audio]


def _pattern_profile(profile: Profile) -> Profile:
    """A test pattern is always encoded; with a remux profile use the cheapest x264 preset."""
    if profile.mode is ProfileMode.TRANSCODE:
        return profile
    return Profile(
        name=profile.name,
        mode=ProfileMode.TRANSCODE,
        video_bitrate_kbps=profile.video_bitrate_kbps,
        max_height=profile.max_height,
        fps=profile.fps,
        gop_seconds=profile.gop_seconds,
        x264_preset="ultrafast",
        audio_bitrate_kbps=profile.audio_bitrate_kbps,
    )


def _video_encode(profile: Profile, *, scale: bool) -> list[str]:
    gop = str(max(1, round(profile.fps * profile.gop_seconds)))
    rate = profile.video_bitrate_kbps
    args = ["-c:v", "libx264", "-preset", profile.x264_preset]
    args += ["-b:v", f"{rate}k", "-maxrate", f"{rate}k", "-bufsize", f"{rate * 2}k"]
    args += ["-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-r", str(profile.fps)]
    if scale:
        # At most max_height, aspect kept, both sides even (x264 with yuv420p needs even sizes).
        args += ["-vf", f"scale=w=-2:h='trunc(min(ih,{profile.max_height})/2)*2'"]
    return [*args, "-pix_fmt", "yuv420p"]


def _audio_encode(profile: Profile) -> list[str]:
    return ["-c:a", "aac", "-b:a", f"{profile.audio_bitrate_kbps}k", "-ac", "2", "-ar", "48000"]


__all__ = [
    "AUTO_FONT",
    "GLOBAL_ARGS",
    "PROTOCOL_WHITELIST",
    "build_argv",
    "find_font",
    "locate_ffmpeg",
    "safe_label",
]
