"""Settings: one typed, frozen object, loaded once and passed explicitly.

Sources, later ones winning: the defaults below, a TOML file (``--config`` or ``HEADEND_CONFIG``),
then ``HEADEND_<SECTION>_<NAME>`` environment variables. Every setting is a field of a section
dataclass with a ``help`` text; :data:`SETTINGS` lists them all, and ``docs/settings.md`` is generated
from it (a test fails when the two disagree). Unknown keys and malformed values fail loudly with
:class:`~headend.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from headend.errors import ConfigError

ENV_PREFIX = "HEADEND_"


def _s(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = _s("127.0.0.1", "Address the server listens on. Use 0.0.0.0 to serve the network.")
    port: int = _s(8080, "TCP port of the HTTP server (API, playlists and media).")
    public_url: str = _s(
        "", "Public base URL as clients see it (e.g. https://tv.example.com); empty: derived from the request."
    )
    header_timeout: float = _s(
        10.0, "Seconds a client may take to send a complete request head before it is disconnected."
    )
    keepalive_timeout: float = _s(15.0, "Seconds an idle keep-alive connection stays open.")
    max_header_bytes: int = _s(65536, "Largest request head accepted; larger ones get 431.")
    max_body_bytes: int = _s(16 * 1024 * 1024, "Largest request body accepted; larger ones get 413.")
    shutdown_timeout: float = _s(5.0, "Seconds in-flight requests get to finish on shutdown.")
    max_connections: int = _s(
        16384, "Open client connections above which new ones are answered 503 and closed (also raise `ulimit -n`)."
    )


@dataclass(frozen=True, slots=True)
class DbSettings:
    url: str = _s(
        "", "SQLAlchemy URL. Empty: SQLite (WAL) at <paths.data_dir>/headend.db. PostgreSQL: postgresql://user@host/db."
    )
    auto_migrate: bool = _s(True, "Apply pending database migrations when the server starts.")
    echo: bool = _s(False, "Log every SQL statement (debugging only).")


@dataclass(frozen=True, slots=True)
class PathsSettings:
    data_dir: Path = _s(Path("data"), "Directory for the embedded database, run state and media.")
    media_dir: Path = _s(Path(), "Directory for operator media files. Empty: <data_dir>/media.")
    archive_dir: Path = _s(Path(), "Directory for the catch-up archive. Empty: <data_dir>/archive.")


@dataclass(frozen=True, slots=True)
class IngestSettings:
    ffmpeg: str = _s("", "Path of the ffmpeg binary. Empty: ffmpeg on PATH, else the imageio-ffmpeg static build.")
    stall_bytes_s: float = _s(8.0, "Seconds without output bytes before a source is declared stalled.")
    stall_pts_s: float = _s(10.0, "Seconds without advancing output timestamps before a source is declared stalled.")
    start_timeout_s: float = _s(15.0, "Seconds a freshly started source gets to produce its first bytes.")
    rw_timeout_s: float = _s(15.0, "Network read/write timeout given to ffmpeg for network inputs.")
    backoff_initial_s: float = _s(0.5, "First restart delay after a source fails (doubles, with full jitter).")
    backoff_max_s: float = _s(30.0, "Largest restart delay.")
    healthy_reset_s: float = _s(30.0, "Seconds of healthy output after which the backoff resets.")
    failback_interval_s: float = _s(
        30.0, "How often a channel running on a backup source checks whether its primary is healthy again."
    )
    term_grace_s: float = _s(3.0, "Seconds ffmpeg gets after SIGTERM before its process group is killed.")


@dataclass(frozen=True, slots=True)
class RelaySettings:
    chunk_bytes: int = _s(65536, "Target size of a relay chunk (rounded down to whole 188-byte TS packets).")
    chunk_max_delay_ms: int = _s(100, "Longest time bytes wait in the chunker before they are published.")
    buffer_seconds: float = _s(
        12.0, "Seconds of media kept per channel for joins and slow viewers (at least one GOP is always kept)."
    )
    buffer_max_bytes: int = _s(32 * 1024 * 1024, "Hard cap on the bytes buffered per channel.")
    viewer_max_queue_bytes: int = _s(
        256 * 1024,
        "Bytes queued in user space for one viewer before it stops being fed and must catch up from the buffer "
        "(the buffer, not this queue, absorbs a slow network).",
    )
    viewer_socket_buffer_bytes: int = _s(
        256 * 1024,
        "Kernel send buffer of a live TS viewer's socket (SO_SNDBUF; Linux doubles it). Bounds what a stuck "
        "viewer holds; 0 leaves the kernel's autotuning (up to several MiB).",
    )
    idle_grace_s: float = _s(10.0, "Seconds an on-demand channel keeps running after its last viewer leaves.")
    start_wait_s: float = _s(
        10.0, "Seconds a viewer of a cold channel waits for its first keyframe before getting 503."
    )


@dataclass(frozen=True, slots=True)
class HlsSettings:
    segment_seconds: float = _s(
        2.0, "Target HLS segment duration; segments are cut at keyframes, so the GOP sets the floor."
    )
    playlist_length: int = _s(6, "Segments listed in a live playlist.")
    keep_extra: int = _s(4, "Segments kept in memory beyond the playlist for players that lag behind.")
    viewer_lease_s: float = _s(15.0, "Seconds an HLS player counts as a viewer after its last request.")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    test_routes: bool = _s(
        False, "Serve the unauthenticated operator/test routes /stream/{id}.ts and /stream/{id}.m3u8."
    )


@dataclass(frozen=True, slots=True)
class SubscriberSettings:
    timezone: str = _s(
        "UTC", "Operator's IANA timezone: Xtream server_info.timezone, EPG wall-clock times, catch-up START values."
    )
    connection_policy: Literal["refuse", "end_oldest"] = _s(
        "refuse", "What happens when a line at max_connections opens another stream: refuse it, or end its oldest one."
    )
    zap_window_s: float = _s(
        5.0, "A new stream from the same device within this many seconds replaces the previous one (a zap)."
    )
    session_ttl_s: float = _s(
        20.0, "Seconds without activity after which a request-based (HLS) session no longer counts."
    )
    hls_token_ttl_s: float = _s(
        120.0, "Lifetime of the signed token in HLS segment URLs; players refresh it with every playlist."
    )
    auth_cache_s: float = _s(
        5.0,
        "Seconds a verified (username, password) pair is cached to keep stream requests cheap; after that it is "
        "served while one background check refreshes it (another process's changes show within twice this).",
    )

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"subscribers.timezone: {self.timezone!r} is not an IANA timezone (e.g. Europe/London)"
            ) from None


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    secret_key: str = _s(
        "",
        "Key for password hashing and signed URLs. Empty: generated once into <paths.data_dir>/secret.key (mode 0600).",
    )


@dataclass(frozen=True, slots=True)
class EpgSettings:
    refresh: bool = _s(True, "Refresh EPG sources on their schedule while the server runs.")
    past_days: int = _s(7, "Days of past programmes kept (and listed where a channel's catch-up archive reaches).")
    future_days: int = _s(14, "Days of future programmes kept.")
    max_download_mib: int = _s(2048, "Largest EPG file (as downloaded or uploaded, before decompression) accepted.")
    max_xml_mib: int = _s(2048, "Largest decompressed XMLTV document read; reading stops with an error beyond it.")
    max_compression_ratio: int = _s(
        100, "Decompressed/compressed size ratio above which a gzip or xz EPG is refused as a bomb."
    )
    max_programmes: int = _s(5_000_000, "Programmes read from one EPG source at most (entries beyond are refused).")
    fetch_timeout_s: float = _s(60.0, "Seconds without data after which an EPG download is abandoned.")


@dataclass(frozen=True, slots=True)
class AdminSettings:
    api_token: str = _s(
        "",
        "Deprecated bootstrap bearer token for /api/v1 (acts as an admin). Prefer API tokens from `headend admin "
        "token create`. Empty: off.",
    )
    session_hours: float = _s(12.0, "Lifetime of an admin web session.")
    session_idle_minutes: float = _s(60.0, "An admin session unused for this long ends.")
    login_attempts_per_minute: int = _s(
        10, "Failed admin logins per client IP per minute before further attempts get 429 (no account lockout)."
    )
    secure_cookies: bool = _s(
        False, "Mark admin session cookies Secure (set when the panel is served over https, e.g. behind a proxy)."
    )


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: Literal["debug", "info", "warning", "error"] = _s("info", "Log level.")
    json: bool = _s(False, "Write logs as JSON lines instead of text.")


@dataclass(frozen=True, slots=True)
class Settings:
    http: HttpSettings = field(default_factory=HttpSettings)
    db: DbSettings = field(default_factory=DbSettings)
    paths: PathsSettings = field(default_factory=PathsSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    hls: HlsSettings = field(default_factory=HlsSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    subscribers: SubscriberSettings = field(default_factory=SubscriberSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    epg: EpgSettings = field(default_factory=EpgSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    log: LogSettings = field(default_factory=LogSettings)

    @property
    def database_url(self) -> str:
        if self.db.url:
            return self.db.url
        return f"sqlite:///{(self.paths.data_dir / 'headend.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.paths.media_dir if str(self.paths.media_dir) not in ("", ".") else self.paths.data_dir / "media"

    @property
    def epg_dir(self) -> Path:
        """Managed directory of uploaded EPG files and downloads in progress: <data_dir>/epg."""
        return self.paths.data_dir / "epg"

    @property
    def archive_dir(self) -> Path:
        return (
            self.paths.archive_dir if str(self.paths.archive_dir) not in ("", ".") else self.paths.data_dir / "archive"
        )


@dataclass(frozen=True, slots=True)
class SettingInfo:
    """One row of the settings table: ``section.name``, its env variable, type, default and help."""

    key: str
    env: str
    type: str
    default: Any
    help: str


def _sections() -> list[tuple[str, type[Any]]]:
    hints = typing.get_type_hints(Settings)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(Settings)]


def _table() -> list[SettingInfo]:
    rows = []
    for section, cls in _sections():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            env = f"{ENV_PREFIX}{section}_{f.name}".upper()
            rows.append(SettingInfo(key, env, _type_name(hints[f.name]), f.default, f.metadata["help"]))
    return rows


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


SETTINGS: list[SettingInfo] = _table()


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Turn a TOML value or an environment string into the field's type, or raise ConfigError."""
    try:
        return _coerce_value(tp, value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"setting {key}: {exc}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _to_path(value: Any) -> Path:
    return Path(_to_str(value)).expanduser()


_COERCERS: dict[Any, Any] = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str, Path: _to_path}


def _coerce_value(tp: Any, value: Any) -> Any:
    if typing.get_origin(tp) is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if tp not in _COERCERS:
        raise TypeError(f"unsupported setting type {tp!r}")  # pragma: no cover - guarded by tests
    return _COERCERS[tp](value)


def load(*, config_file: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the defaults, an optional TOML file and the environment."""
    env = os.environ if env is None else env
    if config_file is None and env.get("HEADEND_CONFIG"):
        config_file = Path(env["HEADEND_CONFIG"])
    file_values = _read_toml(config_file) if config_file else {}
    known_env = {row.env for row in SETTINGS} | {"HEADEND_CONFIG"}
    unknown = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known_env)
    if unknown:
        raise ConfigError(f"unknown environment setting(s): {', '.join(unknown)}")
    sections: dict[str, Any] = {}
    for section, cls in _sections():
        sections[section] = _build_section(section, cls, file_values.pop(section, {}), env)
    if file_values:
        raise ConfigError(f"unknown section(s) in {config_file}: {', '.join(sorted(file_values))}")
    return Settings(**sections)


def _build_section(section: str, cls: type[Any], values: Any, env: Mapping[str, str]) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{section}] must be a table")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(values) - names)
    if extra:
        raise ConfigError(f"unknown setting(s) in [{section}]: {', '.join(extra)}")
    for name in names:
        key = f"{section}.{name}"
        env_name = f"{ENV_PREFIX}{section}_{name}".upper()
        if env_name in env:
            kwargs[name] = _coerce(key, hints[name], env[env_name])
        elif name in values:
            kwargs[name] = _coerce(key, hints[name], values[name])
    return cls(**kwargs)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def replace(settings: Settings, **sections: Mapping[str, Any]) -> Settings:
    """Return a copy with some fields changed, e.g. ``replace(s, http={"port": 0})`` (tests, demo)."""
    changes: dict[str, Any] = {}
    for section, values in sections.items():
        current = getattr(settings, section)
        changes[section] = dataclasses.replace(current, **values)
    return dataclasses.replace(settings, **changes)


def render_markdown() -> str:
    """The settings reference, as written to docs/settings.md."""
    lines = [
        "# Settings",
        "",
        "Generated from `src/headend/settings.py` (`headend settings --markdown`); a test keeps it in sync.",
        "",
        "Set them in a TOML file (`headend serve --config headend.toml`, sections as below) or as",
        "environment variables. Environment variables win over the file.",
        "",
    ]
    current = ""
    for row in SETTINGS:
        section = row.key.split(".")[0]
        if section != current:
            current = section
            lines += ["", f"## [{section}]", "", "| key | env | type | default | meaning |", "|---|---|---|---|---|"]
        default = f"`{row.default}`" if str(row.default) != "" else "(empty)"
        lines.append(f"| `{row.key}` | `{row.env}` | {row.type} | {default} | {row.help} |")
    return "\n".join(lines) + "\n"


__all__ = ["SETTINGS", "Settings", "load", "render_markdown", "replace"]
