"""Assemble and run Headend: database, ingest reaper, hub, HTTP server — started in order, stopped in reverse.

``Headend(settings)`` does nothing until :meth:`start`; :meth:`aclose` drains HTTP, stops every channel
(and so every ffmpeg) and closes the database. :func:`serve` runs it until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import socket
import sys

from starlette.applications import Starlette

from headend.admin.accounts import AdminAccounts
from headend.admin.api_tokens import ApiTokens
from headend.admin.audit import AuditLog
from headend.admin.bootstrap import ensure_first_admin, first_admin_message
from headend.admin.passwords import AdminPasswordHasher
from headend.admin.resellers import Resellers
from headend.admin.sessions import AdminSessions
from headend.admin.throttle import LoginThrottle
from headend.app import close_background_tasks, create_app
from headend.auth.lines import LineAuthenticator
from headend.auth.passwords import PasswordHasher
from headend.auth.secret import load_secret
from headend.auth.sessions import InProcessSessionStore
from headend.auth.tokens import SegmentTokens
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.subscribers import SubscriberStore
from headend.delivery.media import MediaService
from headend.delivery.preview_routes import PreviewRoutes
from headend.delivery.test_routes import TestStreamRoutes
from headend.delivery.xtream_routes import XtreamStreamRoutes
from headend.epg.importer import EpgImporter
from headend.epg.scheduler import EpgScheduler
from headend.hls.packager import HlsService
from headend.http.routes import NativeRouter
from headend.http.server import HttpServer
from headend.ingest.ffmpeg import locate_ffmpeg
from headend.ingest.reaper import PidRegistry
from headend.relay.config import ChannelConfig
from headend.relay.hub import ChannelHub
from headend.services import Services
from headend.settings import Settings
from headend.types import ChannelId

logger = logging.getLogger(__name__)


class Headend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services | None = None
        self.http: HttpServer | None = None
        self.app: Starlette | None = None
        self.router = NativeRouter()
        self.epg_scheduler: EpgScheduler | None = None

    async def start(self, sock: socket.socket | None = None) -> None:
        settings = self.settings
        settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
        secret = load_secret(settings)
        ffmpeg = locate_ffmpeg(settings.ingest.ffmpeg)
        registry = PidRegistry(settings.paths.data_dir / "run" / "ffmpeg")
        reaped = registry.reap_orphans()
        if reaped:
            logger.warning("killed %d ffmpeg process(es) left over by a previous run", reaped)
        db = Database(settings.database_url, echo=settings.db.echo)
        await db.start()
        try:
            await (db.migrate() if settings.db.auto_migrate else db.check_schema())
        except BaseException:
            await db.aclose()
            raise
        self.services = services = build_services(settings, db, secret, ffmpeg=ffmpeg, registry=registry)
        await self._first_admin(services)
        await services.epg.cleanup_abandoned()
        await services.hub.start()
        for config in await services.channels.always_on_configs():
            await services.hub.acquire(config.id)
        if settings.delivery.test_routes:
            TestStreamRoutes(services.media).register(self.router)
        XtreamStreamRoutes(services.media, services.authenticator, services.sessions, services.tokens).register(
            self.router
        )
        PreviewRoutes(
            services.media, services.admin_sessions, services.api_tokens, bootstrap_token=settings.admin.api_token
        ).register(self.router)
        self.app = create_app(services)
        self.http = HttpServer(settings.http, app=self.app, router=self.router)
        await self.http.start(sock)
        self.epg_scheduler = EpgScheduler(services.epg, services.epg_importer, settings)
        self.epg_scheduler.start()

    async def _first_admin(self, services: Services) -> None:
        """Create the first admin if none exists; its password goes to the terminal once, never to the log."""
        try:
            password = await ensure_first_admin(services.admin_accounts, self.settings.http, audit=services.audit)
        except BaseException:
            self.services = None
            await services.db.aclose()
            raise
        if password is not None:
            sys.stdout.write(first_admin_message(password))
            sys.stdout.flush()

    @property
    def port(self) -> int:
        assert self.http is not None
        return self.http.port

    async def aclose(self) -> None:
        if self.http is not None:
            self.http.begin_drain()
        if self.epg_scheduler is not None:
            await self.epg_scheduler.aclose()
            self.epg_scheduler = None
        if self.app is not None:
            await close_background_tasks(self.app)  # panel/API jobs: before the database closes
        if self.services is not None:
            await self.services.epg_importer.aclose()
            await self.services.hub.aclose()
        if self.http is not None:
            await self.http.aclose()
            self.http = None
        if self.services is not None:
            await self.services.subscribers.flush_last_seen()
            await self.services.db.aclose()
            self.services = None


def build_services(
    settings: Settings, db: Database, secret: bytes, *, ffmpeg: str, registry: PidRegistry | None
) -> Services:
    """Every part of the running application, wired (nothing started yet)."""
    store = ChannelStore(db)

    async def resolve(channel_id: ChannelId) -> ChannelConfig:
        return await store.channel_config(channel_id)

    hub = ChannelHub(resolve, relay=settings.relay, ingest=settings.ingest, ffmpeg=ffmpeg, pid_registry=registry)
    hls = HlsService(settings.hls)
    hasher = PasswordHasher(secret)
    subscribers = SubscriberStore(db, hasher)
    admin_accounts = AdminAccounts(db, AdminPasswordHasher())
    epg = EpgStore(db)
    return Services(
        settings=settings,
        db=db,
        channels=store,
        hub=hub,
        hls=hls,
        media=MediaService(hub, hls, relay=settings.relay, hls_settings=settings.hls),
        subscribers=subscribers,
        authenticator=LineAuthenticator(subscribers, hasher, settings.subscribers),
        sessions=InProcessSessionStore(settings.subscribers),
        tokens=SegmentTokens(secret, settings.subscribers.hls_token_ttl_s),
        admin_accounts=admin_accounts,
        admin_sessions=AdminSessions(db, settings.admin),
        api_tokens=ApiTokens(db),
        audit=AuditLog(db),
        login_throttle=LoginThrottle(settings.admin.login_attempts_per_minute),
        resellers=Resellers(admin_accounts, subscribers),
        epg=epg,
        epg_importer=EpgImporter(epg, store, settings),
    )


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT or SIGTERM, then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    headend = Headend(settings)
    try:
        await headend.start()
        if ready is not None:
            ready.set()
        await stop.wait()
        logger.info("shutting down")
    finally:
        await headend.aclose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


def raise_open_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit: every viewer is a socket (Debian's soft default is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run(settings: Settings) -> None:
    """Blocking entry point: uvloop when available."""
    limit = raise_open_file_limit()
    if limit < settings.http.max_connections + 256:
        logger.warning("open-file limit is %d: fewer viewers than http.max_connections can connect", limit)
    try:
        import uvloop

        uvloop.run(serve(settings))
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(serve(settings))
