"""Headend's HTTP server: a listening socket, its connections, dispatch and graceful shutdown.

Dispatch order for every request: the native media routes first (answered in place from memory, no
framework in the byte path), then the ASGI control-plane app. Errors raised by native handlers are mapped
to responses by ``headend.http.errors`` — the same table the ASGI app uses.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import orjson

from headend.errors import HeadendError
from headend.http.asgi import ASGIApp, run_asgi
from headend.http.connection import HttpConnection, Request, Responder
from headend.http.errors import body_for, status_for
from headend.http.routes import NativeRouter
from headend.settings import HttpSettings

logger = logging.getLogger(__name__)


class ServerState:
    """What every connection shares: the live connection set, the draining flag, and dispatch."""

    def __init__(self, app: ASGIApp, router: NativeRouter) -> None:
        self.app = app
        self.router = router
        self.connections: set[HttpConnection] = set()
        self.draining = False
        self.server_address: tuple[str, int] | None = None

    async def dispatch(self, request: Request, responder: Responder) -> None:
        found = self.router.match(request.method, request.path)
        if found is None:
            await run_asgi(self.app, request, responder, self.server_address)
            return
        route, params = found
        try:
            await route.handler(request, responder, params)
        except HeadendError as exc:
            if responder.started:
                responder.close()
                return
            body = orjson.dumps(body_for(exc))
            responder.send_simple(status_for(exc), body, b"application/json")


class HttpServer:
    def __init__(self, settings: HttpSettings, *, app: ASGIApp, router: NativeRouter) -> None:
        self._settings = settings
        self._state = ServerState(app, router)
        self._server: asyncio.Server | None = None

    async def start(self, sock: socket.socket | None = None) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> HttpConnection:
            return HttpConnection(self._state, self._settings)

        if sock is not None:
            self._server = await loop.create_server(factory, sock=sock, backlog=4096)
        else:
            self._server = await loop.create_server(
                factory, self._settings.host, self._settings.port, reuse_address=True, backlog=4096
            )
        address = self._server.sockets[0].getsockname()
        self._state.server_address = (str(address[0]), int(address[1]))
        logger.info("listening on http://%s:%d", address[0], address[1])

    @property
    def port(self) -> int:
        if self._state.server_address is None:
            raise RuntimeError("server not started")
        return self._state.server_address[1]

    @property
    def connection_count(self) -> int:
        return len(self._state.connections)

    def begin_drain(self) -> None:
        """Stop accepting; idle keep-alive connections close now, busy ones after their response."""
        self._state.draining = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._state.connections):
            if conn.idle:
                conn.close()

    async def aclose(self) -> None:
        self.begin_drain()
        deadline = asyncio.get_running_loop().time() + self._settings.shutdown_timeout
        while self._state.connections and asyncio.get_running_loop().time() < deadline:
            for conn in list(self._state.connections):
                if conn.idle:
                    conn.close()
            await asyncio.sleep(0.05)
        for conn in list(self._state.connections):
            conn.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
