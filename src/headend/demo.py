"""``headend demo``: synthetic channels on embedded defaults, for a newcomer's first five minutes.

Each demo channel is a short loop encoded once with ffmpeg (a test card with the channel's name and a
running clock, and a tone), then relayed with ``-c copy`` like any file source: four of them cost a few
percent of a core. The server starts with the operator test routes on and prints URLs that play in VLC.

It also sets up (idempotently) a bouquet "Demo" with the four channels, a package "Demo package" and a
subscriber line ``demo`` whose password is derived from the data directory's secret key: stable across
runs of one demo, different in every installation, and never used outside the demo.

Each run writes a fresh programme guide for the channels (:mod:`headend.epg.demo_guide`, one day back and two
ahead) into the managed EPG directory and imports it through the real importer, as the file source
"Demo guide", before the server starts: a player shows a full guide from the first minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from headend import settings as settings_mod
from headend.admin.accounts import AdminAccounts
from headend.admin.passwords import AdminPasswordHasher
from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.auth.passwords import PasswordHasher
from headend.auth.secret import load_secret
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind
from headend.catalog.records import ChannelInput, SourceInput
from headend.catalog.subscriber_records import LineInput, LineStatus, PackageInput
from headend.catalog.subscribers import PASSWORD_ALPHABET, PASSWORD_LENGTH, SubscriberStore
from headend.epg.demo_guide import write_demo_guide
from headend.epg.importer import EpgImporter, ImportReport
from headend.errors import AuthFailed, IngestError, NotFound
from headend.ingest.ffmpeg import locate_ffmpeg
from headend.settings import Settings
from headend.types import ChannelId

logger = logging.getLogger(__name__)

LOOP_SECONDS = 30
DEMO_USERNAME = "demo"
DEMO_BOUQUET = "Demo"
DEMO_PACKAGE = "Demo package"
DEMO_GUIDE = "Demo guide"
DEMO_GUIDE_FILE = "demo-guide.xml"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class DemoChannel:
    number: int
    name: str
    pattern: str  # lavfi video source
    tone_hz: int
    tvg_id: str


DEMO_CHANNELS = (
    DemoChannel(1, "Headend One", "testsrc2=size=640x360:rate=25", 440, "headend.one"),
    DemoChannel(2, "Headend Two", "smptehdbars=size=640x360:rate=25", 660, "headend.two"),
    DemoChannel(3, "Headend Three", "testsrc=size=640x360:rate=25", 880, "headend.three"),
    DemoChannel(4, "Headend Four", "rgbtestsrc=size=640x360:rate=25", 1000, "headend.four"),
)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _drawtext(name: str) -> str:
    if not FONT.exists():
        return ""
    label = name.replace(":", " ").replace("'", "")
    box = f"fontfile={FONT}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8"
    return (
        f",drawtext={box}:fontsize=36:x=(w-tw)/2:y=h*0.12:text='{label}'"
        f",drawtext={box}:fontsize=28:x=(w-tw)/2:y=h*0.75:text='%{{pts\\:hms}}'"
    )


def encode_loop(ffmpeg: str, channel: DemoChannel, path: Path) -> None:
    """Encode the channel's loop once (H.264 + AAC in MPEG-TS, 2 s GOP)."""
    if path.exists() and path.stat().st_size > 0:
        return
    tmp = path.with_suffix(".tmp.ts")
    argv = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", channel.pattern + _drawtext(channel.name),
        "-f", "lavfi", "-i", f"sine=frequency={channel.tone_hz}:sample_rate=48000",
        "-t", str(LOOP_SECONDS), "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "1200k", "-maxrate", "1200k", "-bufsize", "1200k",
        "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-f", "mpegts", str(tmp),
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise IngestError(f"could not encode the demo loop for {channel.name}: {result.stderr.strip()[-300:]}")
    tmp.replace(path)


async def ensure_channels(store: ChannelStore, loops: dict[int, Path]) -> list[ChannelId]:
    """Create the demo channels once; return their ids in order."""
    existing = {c.tvg_id: c.id for c in await store.list_channels()}
    profile = await store.get_profile_by_name("remux")
    category = await store.ensure_category("live", "Demo channels")
    ids = []
    for demo in DEMO_CHANNELS:
        if demo.tvg_id in existing:
            ids.append(existing[demo.tvg_id])
            continue
        channel = await store.create_channel(
            ChannelInput(
                name=demo.name,
                number=demo.number,
                tvg_id=demo.tvg_id,
                category_id=category.id,
                on_demand=True,
                profile_id=profile.id,
            )
        )
        await store.add_source(
            channel.id, SourceInput(kind="file", url=str(loops[demo.number].resolve()), label=demo.name)
        )
        ids.append(channel.id)
    return ids


DEMO_ADMIN = "admin"


def demo_password(secret: bytes) -> str:
    """The demo line's password: derived from the installation's secret key, so it is stable across runs."""
    digest = hmac.new(secret, b"headend/demo-line-password", hashlib.sha256).digest()
    return "".join(PASSWORD_ALPHABET[b % len(PASSWORD_ALPHABET)] for b in digest[:PASSWORD_LENGTH])


def demo_admin_password(secret: bytes) -> str:
    """The demo admin's password, derived from this installation's secret key like the demo line's (random per
    installation, never a default; stable across runs so the banner can show it every time)."""
    digest = hmac.new(secret, b"headend/demo-admin-password", hashlib.sha256).digest()
    return "".join(PASSWORD_ALPHABET[b % len(PASSWORD_ALPHABET)] for b in digest[:20])


async def ensure_admin(db: Database, password: str) -> bool:
    """Create the demo's ``admin`` account when no admin exists; True when ``password`` still logs it in."""
    accounts = AdminAccounts(db, AdminPasswordHasher())
    if await accounts.count(enabled_admins_only=True) == 0:
        await accounts.create(AdminInput(username=DEMO_ADMIN, role=Role.ADMIN, password=password))
        return True
    try:
        await accounts.authenticate(DEMO_ADMIN, password)
    except AuthFailed:
        return False  # changed by the operator (or another admin exists): the banner says how to reset it
    return True


async def ensure_subscribers(
    store: SubscriberStore, hasher: PasswordHasher, ids: list[ChannelId], password: str
) -> None:
    """Create the demo bouquet, package and line once; repair them (channels, password, status) if changed."""
    try:
        bouquet = await store.get_bouquet_by_name(DEMO_BOUQUET)
        if bouquet.channel_ids != tuple(ids):
            await store.set_bouquet_channels(bouquet.id, ids)
    except NotFound:
        bouquet = await store.create_bouquet(DEMO_BOUQUET, ids)
    try:
        package = await store.get_package_by_name(DEMO_PACKAGE)
    except NotFound:
        package = await store.create_package(
            PackageInput(name=DEMO_PACKAGE, duration_days=30, max_connections=2, allowed_outputs=("ts", "m3u8"),
                         bouquet_ids=(bouquet.id,))
        )  # fmt: skip
    found = await store.find_credentials(DEMO_USERNAME)
    if found is None:
        await store.create_line(LineInput(username=DEMO_USERNAME, password=password, package_ids=(package.id,)))
        return
    line, stored = found
    if not hasher.verify(password, stored):
        await store.reset_password(line.id, password)
    if line.banned:
        await store.unban(line.id)
    if not line.enabled:
        await store.set_enabled(line.id, True)
    if line.status(datetime.now(UTC)) is LineStatus.EXPIRED:
        await store.renew(line.id, package_id=package.id)


async def ensure_guide(settings: Settings, db: Database, now: datetime | None = None) -> ImportReport:
    """Write the demo guide into the EPG directory, make sure the "Demo guide" source exists, import it."""
    when = now or datetime.now(UTC)
    channels = [(demo.tvg_id, demo.name) for demo in DEMO_CHANNELS]
    await asyncio.to_thread(write_demo_guide, settings.epg_dir / DEMO_GUIDE_FILE, channels, when)
    store = EpgStore(db)
    try:
        source = await store.get_source_by_name(DEMO_GUIDE)
    except NotFound:
        source = await store.create_source(
            EpgSourceInput(name=DEMO_GUIDE, kind=EpgSourceKind.FILE, location=DEMO_GUIDE_FILE, refresh_hours=0)
        )
    return await EpgImporter(store, ChannelStore(db), settings, now=lambda: when).run(source.id)


def demo_settings(settings: Settings, *, explicit_data_dir: bool) -> Settings:
    data_dir = settings.paths.data_dir if explicit_data_dir else Path("demo-data")
    token = settings.admin.api_token or secrets.token_urlsafe(24)
    return settings_mod.replace(
        settings, paths={"data_dir": data_dir}, delivery={"test_routes": True}, admin={"api_token": token}
    )


async def _prepare(settings: Settings) -> tuple[list[ChannelId], str, str | None]:
    ffmpeg = locate_ffmpeg(settings.ingest.ffmpeg)
    loops_dir = settings.media_dir / "demo"
    loops_dir.mkdir(parents=True, exist_ok=True)
    loops: dict[int, Path] = {}
    for demo in DEMO_CHANNELS:
        loops[demo.number] = loops_dir / f"channel-{demo.number}.ts"
        if not loops[demo.number].exists():
            _say(f"  encoding a {LOOP_SECONDS} s loop for {demo.name} (once) ...")
        await asyncio.to_thread(encode_loop, ffmpeg, demo, loops[demo.number])
    secret = load_secret(settings)
    hasher, password = PasswordHasher(secret), demo_password(secret)
    db = Database(settings.database_url)
    await db.start()
    try:
        await db.migrate()
        ids = await ensure_channels(ChannelStore(db), loops)
        await ensure_subscribers(SubscriberStore(db, hasher), hasher, ids, password)
        admin_password = demo_admin_password(secret)
        shown = admin_password if await ensure_admin(db, admin_password) else None
        guide = await ensure_guide(settings, db)
        if guide.ok:
            _say(f"  programme guide: {guide.programmes_stored} programmes for {guide.channels_matched} channels")
        else:
            logger.warning("the demo guide could not be imported: %s", guide.message)
        return ids, password, shown
    finally:
        await db.aclose()


def _banner(settings: Settings, ids: list[ChannelId], password: str, admin_password: str | None) -> str:
    host = settings.http.host if settings.http.host not in ("0.0.0.0", "::") else "127.0.0.1"
    base = f"http://{host}:{settings.http.port}"
    lines = ["", "Headend demo is running. Play a channel:", ""]
    for demo, cid in zip(DEMO_CHANNELS, ids, strict=True):
        lines.append(f"  {demo.name:<14} MPEG-TS  {base}/stream/{cid}.ts")
        lines.append(f"  {'':<14} HLS      {base}/stream/{cid}.m3u8")
    lines += [
        "",
        f"  vlc {base}/stream/{ids[0]}.ts",
        f"  ffprobe -v error -show_streams {base}/stream/{ids[0]}.ts",
        "",
        f"Admin panel: {base}/admin",
        f"  username  {DEMO_ADMIN}",
        f"  password  {admin_password}"
        if admin_password
        else "  password  (changed since the demo set it; reset: HEADEND_PATHS_DATA_DIR="
        f"{settings.paths.data_dir} .venv/bin/headend admin passwd {DEMO_ADMIN})",
        f"  REST API  curl -H 'Authorization: Bearer {settings.admin.api_token}' {base}/api/v1/status",
        f"            (OpenAPI: {base}/api/v1/openapi.json)",
        "",
        "Or log in with an Xtream Codes player (TiviMate, IPTV Smarters, ...):",
        "",
        f"  server    {base}",
        f"  username  {DEMO_USERNAME}",
        f"  password  {password}",
        f"  playlist  {base}/get.php?username={DEMO_USERNAME}&password={password}&type=m3u_plus&output=ts",
        "",
        "Channels start on the first viewer and stop 10 s after the last one leaves. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def run_demo(settings: Settings, *, explicit_data_dir: bool) -> int:
    from headend.runtime import run

    settings = demo_settings(settings, explicit_data_dir=explicit_data_dir)
    _say(f"Preparing the demo in {settings.paths.data_dir.resolve()} ...")
    try:
        ids, password, admin_password = asyncio.run(_prepare(settings))
    except NotFound as exc:
        raise IngestError(f"demo set-up failed: {exc.message}") from exc
    _say(_banner(settings, ids, password, admin_password))
    run(settings)
    return 0
