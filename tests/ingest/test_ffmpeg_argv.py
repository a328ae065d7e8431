"""Golden ffmpeg command lines for every source kind, and proof that operator text cannot inject anything."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from headend.errors import FfmpegNotFound, ValidationError
from headend.ingest.ffmpeg import build_argv, find_font, locate_ffmpeg, safe_label
from headend.ingest.sources import Profile, ProfileMode, SourceKind, SourceSpec
from headend.settings import IngestSettings

SETTINGS = IngestSettings(rw_timeout_s=15.0)
REMUX = Profile()
HEAD = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats", "-progress", "pipe:2",
        "-stats_period", "1"]  # fmt: skip
COPY_TAIL = ["-map", "0:v:0?", "-map", "0:a?", "-c", "copy", "-f", "mpegts", "-flush_packets", "1", "pipe:1"]


def argv(source: SourceSpec, profile: Profile = REMUX, **kwargs: object) -> list[str]:
    return build_argv("ffmpeg", source, profile, SETTINGS, **kwargs)  # type: ignore[arg-type]


def test_http_minimal() -> None:
    assert argv(SourceSpec(SourceKind.HTTP, "http://up.example/ch1.ts")) == [
        *HEAD, "-protocol_whitelist", "http,https,tcp,tls", "-analyzeduration", "2000000", "-rw_timeout", "15000000",
        "-i", "http://up.example/ch1.ts", *COPY_TAIL,
    ]  # fmt: skip


def test_http_with_user_agent_and_reconnect() -> None:
    source = SourceSpec(SourceKind.HTTP, "https://up.example/ch1.ts", user_agent="Headend/1.0", reconnect=True)
    assert argv(source) == [
        *HEAD, "-protocol_whitelist", "http,https,tcp,tls", "-analyzeduration", "2000000", "-rw_timeout", "15000000",
        "-user_agent", "Headend/1.0",
        "-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "5",
        "-i", "https://up.example/ch1.ts", *COPY_TAIL,
    ]  # fmt: skip


def test_hls_adds_crypto_and_forces_the_hls_demuxer() -> None:
    assert argv(SourceSpec(SourceKind.HLS, "https://up.example/live/index.m3u8")) == [
        *HEAD, "-protocol_whitelist", "http,https,tcp,tls,crypto", "-analyzeduration", "2000000",
        "-rw_timeout", "15000000", "-f", "hls", "-i", "https://up.example/live/index.m3u8", *COPY_TAIL,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "url", "whitelist"),
    [
        (SourceKind.UDP, "udp://239.1.1.1:1234", "udp,rtp"),
        (SourceKind.RTP, "rtp://239.1.1.2:5004", "udp,rtp"),
        (SourceKind.SRT, "srt://10.0.0.5:9000?mode=caller", "srt,udp"),
    ],
)
def test_socket_kinds_use_their_timeout_option(kind: SourceKind, url: str, whitelist: str) -> None:
    assert argv(SourceSpec(kind, url)) == [
        *HEAD, "-protocol_whitelist", whitelist, "-analyzeduration", "2000000", "-timeout", "15000000",
        "-i", url, *COPY_TAIL,
    ]  # fmt: skip


def test_rtmp_uses_rw_timeout_never_timeout() -> None:
    # rtmp's own "-timeout" would put ffmpeg into listen mode.
    assert argv(SourceSpec(SourceKind.RTMP, "rtmps://up.example/app/key")) == [
        *HEAD, "-protocol_whitelist", "rtmp,rtmps,tcp,tls", "-analyzeduration", "2000000", "-rw_timeout", "15000000",
        "-i", "rtmps://up.example/app/key", *COPY_TAIL,
    ]  # fmt: skip


def test_file_is_looped_in_real_time_with_file_prefix() -> None:
    assert argv(SourceSpec(SourceKind.FILE, "/media/a|b concat:c.ts")) == [
        *HEAD, "-protocol_whitelist", "file", "-re", "-stream_loop", "-1", "-i", "file:/media/a|b concat:c.ts",
        *COPY_TAIL,
    ]  # fmt: skip


def test_testpattern_with_font() -> None:
    source = SourceSpec(SourceKind.TESTPATTERN, label="Channel 1")
    profile = Profile(max_height=180, video_bitrate_kbps=300, fps=25, gop_seconds=1.0, audio_bitrate_kbps=64)
    assert argv(source, profile, font_file="/fonts/Sans.ttf") == [
        *HEAD,
        "-re", "-f", "lavfi", "-i",
        "testsrc2=size=320x180:rate=25,drawtext=fontfile=/fonts/Sans.ttf:expansion=none:text=Channel 1"
        ":fontsize=18:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4:x=(w-text_w)/2:y=h-text_h-18",
        "-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
        "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "300k", "-maxrate", "300k", "-bufsize", "600k",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-r", "25", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2", "-ar", "48000",
        "-f", "mpegts", "-flush_packets", "1", "pipe:1",
    ]  # fmt: skip


def test_testpattern_without_font_has_no_text() -> None:
    source = SourceSpec(SourceKind.TESTPATTERN, label="Channel 1")
    result = argv(source, font_file=None)
    assert result[result.index("lavfi") + 2] == "testsrc2=size=1280x720:rate=25"
    assert not any("drawtext" in arg for arg in result)


def test_transcode_profile_with_timeline_offset() -> None:
    profile = Profile(
        mode=ProfileMode.TRANSCODE, video_bitrate_kbps=1500, max_height=540, fps=30, gop_seconds=2.0,
        x264_preset="veryfast", audio_bitrate_kbps=96,
    )  # fmt: skip
    assert argv(SourceSpec(SourceKind.HTTP, "http://up.example/ch1.ts"), profile, ts_offset_s=12.3456) == [
        *HEAD, "-protocol_whitelist", "http,https,tcp,tls", "-analyzeduration", "2000000", "-rw_timeout", "15000000",
        "-i", "http://up.example/ch1.ts", "-map", "0:v:0?", "-map", "0:a?",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "1500k", "-maxrate", "1500k", "-bufsize", "3000k",
        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-r", "30",
        "-vf", "scale=w=-2:h='trunc(min(ih,540)/2)*2'", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-ar", "48000",
        "-f", "mpegts", "-flush_packets", "1", "-output_ts_offset", "12.346", "pipe:1",
    ]  # fmt: skip


ALL_SOURCES = [
    SourceSpec(SourceKind.HTTP, "http://h/x.ts"),
    SourceSpec(SourceKind.HLS, "http://h/x.m3u8"),
    SourceSpec(SourceKind.UDP, "udp://239.0.0.1:1234"),
    SourceSpec(SourceKind.RTP, "rtp://239.0.0.1:5004"),
    SourceSpec(SourceKind.SRT, "srt://h:9000"),
    SourceSpec(SourceKind.RTMP, "rtmp://h/app/key"),
    SourceSpec(SourceKind.FILE, "/media/x.ts"),
    SourceSpec(SourceKind.TESTPATTERN, label="x"),
]


@pytest.mark.parametrize("source", ALL_SOURCES, ids=lambda s: s.kind.value)
def test_every_input_but_lavfi_has_a_protocol_whitelist(source: SourceSpec) -> None:
    result = argv(source)
    inputs = [i for i, arg in enumerate(result) if arg == "-i"]
    for position in inputs:
        options = result[: position + 1]
        before_this_input = options[max((i for i in inputs if i < position), default=0) :]
        if source.kind is SourceKind.TESTPATTERN:
            assert "lavfi" in before_this_input
            assert "-protocol_whitelist" not in result
        else:
            assert "-protocol_whitelist" in before_this_input
    assert result[-1] == "pipe:1"


HOSTILE_URLS = [
    "http://h/x.ts -f null -y /tmp/owned",
    "http://h/x.ts;rm -rf /",
    "http://h/x.ts' -i '/etc/passwd",
    'http://h/x.ts" -i "/etc/passwd',
    "http://h/x.ts?a=-filter_complex&b=:c",
    "http://user:pa:ss@h/-i/file:/etc/passwd",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_url_stays_one_argument(url: str) -> None:
    result = argv(SourceSpec(SourceKind.HTTP, url))
    assert result.count(url) == 1
    assert result[result.index(url) - 1] == "-i"
    clean = argv(SourceSpec(SourceKind.HTTP, "http://h/x.ts"))
    assert [a for a in result if a != url] == [a for a in clean if a != "http://h/x.ts"]


@pytest.mark.parametrize("field", ["url", "label", "user_agent"])
def test_control_characters_are_refused(field: str) -> None:
    values = {"url": "http://h/x.ts", "label": "x", "user_agent": "ua"}
    values[field] += "\r\n-i /etc/passwd"
    with pytest.raises(ValidationError):
        SourceSpec(SourceKind.HTTP, url=values["url"], label=values["label"], user_agent=values["user_agent"])


def test_url_starting_with_dash_is_refused() -> None:
    with pytest.raises(ValidationError):
        SourceSpec(SourceKind.HTTP, "-i http://h/x.ts")


HOSTILE_LABELS = [
    "News: 24/7",
    "a'b\\c",
    "x,drawtext=text=pwned",
    "x;[out]null[y]",
    "x:fontfile=/etc/passwd",
    "%{pts} %{eif:1:d}",
    "[in] -f null -",
    "Ünïcødé Café",
]


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_label_cannot_leave_the_text_option(label: str) -> None:
    result = argv(SourceSpec(SourceKind.TESTPATTERN, label=label), font_file="/fonts/Sans.ttf")
    graph = result[result.index("lavfi") + 2]
    assert graph.count(",") == 1  # exactly two filters: testsrc2, drawtext
    assert not set("[];'\\%=:") & set(safe_label(label))
    options = graph.split(",", 1)[1].removeprefix("drawtext=").split(":")
    keys = [o.split("=", 1)[0] for o in options]
    assert keys == ["fontfile", "expansion", "text", "fontsize", "fontcolor", "box", "boxcolor", "boxborderw", "x", "y"]
    assert options[2] == f"text={safe_label(label)}"


def test_safe_label_keeps_readable_text() -> None:
    assert safe_label("  News: 24/7 (HD) ") == "News 24/7 (HD)"
    assert safe_label("x" * 100) == "x" * 64
    assert safe_label(":;'[]") == ""


@pytest.mark.skipif(find_font() is None, reason="no font installed for drawtext")
def test_ffmpeg_accepts_the_graph_of_a_hostile_label(ffmpeg_bin: str) -> None:
    label = "x,drawtext=text=pwned:y'[a];\\ %{pts} Café"
    result = build_argv(ffmpeg_bin, SourceSpec(SourceKind.TESTPATTERN, label=label), Profile(max_height=180), SETTINGS)
    graph = result[result.index("lavfi") + 2]
    check = [ffmpeg_bin, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", graph,
             "-frames:v", "1", "-f", "null", "-"]  # fmt: skip
    done = subprocess.run(check, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def test_locate_ffmpeg_configured_path(ffmpeg_bin: str) -> None:
    assert locate_ffmpeg(ffmpeg_bin) == ffmpeg_bin


def test_locate_ffmpeg_configured_but_not_executable(tmp_path: Path) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("not a program")
    with pytest.raises(FfmpegNotFound, match="not an executable"):
        locate_ffmpeg(str(fake))
    with pytest.raises(FfmpegNotFound, match="not an executable"):
        locate_ffmpeg(str(tmp_path / "missing"))


def test_locate_ffmpeg_on_path() -> None:
    assert Path(locate_ffmpeg("")).name == "ffmpeg"


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is not None, reason="imageio-ffmpeg is installed")
def test_locate_ffmpeg_missing_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FfmpegNotFound, match="apt-get install ffmpeg"):
        locate_ffmpeg("")
