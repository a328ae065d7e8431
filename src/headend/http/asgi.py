"""Run an ASGI application for one request received by Headend's own server.

The control plane (API, playlists, status) is a Starlette app; the media plane is served natively. This
bridge is the small part of an ASGI server that the control plane needs: a buffered request body, the
``http.disconnect`` event, and responses with a Content-Length or chunked transfer encoding with
write backpressure. Lifespan is not used: Headend builds and closes its services explicitly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from headend.http.connection import Request, Responder

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def build_scope(request: Request, server: tuple[str, int] | None, root_path: str = "") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.http_version,
        "server": server,
        "client": request.client,
        "scheme": "http",
        "method": request.method,
        "root_path": root_path,
        "path": request.path,
        "raw_path": request.raw_path,
        "query_string": request.query_string,
        "headers": request.headers,
        "state": {},
    }


class _Cycle:
    def __init__(self, request: Request, responder: Responder) -> None:
        self.request = request
        self.responder = responder
        self.body_sent = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.request.body, "more_body": False}
        await self.responder.wait_closed()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status:
                raise RuntimeError("http.response.start sent twice")
            self.status = int(message["status"])
            self.headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
        elif kind == "http.response.body":
            await self._send_body(bytes(message.get("body", b"")), bool(message.get("more_body", False)))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    async def _send_body(self, body: bytes, more: bool) -> None:
        responder = self.responder
        if responder.closed or responder.finished:
            return
        if not self.status:
            raise RuntimeError("http.response.body before http.response.start")
        if not responder.started:
            self._start(len(body), more)
        if self.request.method != "HEAD":
            responder.write(body)
        if more:
            await responder.drain()
        else:
            responder.end()

    def _start(self, first_len: int, more: bool) -> None:
        declared = [v for k, v in self.headers if k == b"content-length"]
        headers = [(k, v) for k, v in self.headers if k not in (b"content-length", b"transfer-encoding")]
        if declared:
            self.responder.start(self.status, headers, length=int(declared[0]))
        elif not more:
            self.responder.start(self.status, headers, length=first_len)
        else:
            self.responder.start_chunked(self.status, headers)


async def run_asgi(app: ASGIApp, request: Request, responder: Responder, server: tuple[str, int] | None) -> None:
    """Serve ``request`` with ``app``. A crash before the response started becomes a plain 500."""
    cycle = _Cycle(request, responder)
    scope = build_scope(request, server)
    try:
        await app(scope, cycle.receive, cycle.send)
    except asyncio.CancelledError:
        raise
    except Exception:  # the ASGI boundary: the app's own error middleware should have answered already
        logger.exception("ASGI application error")
        if not responder.started and not responder.closed:
            responder.send_simple(500, b"internal server error\n", b"text/plain")
        else:
            responder.close()
        return
    if not responder.started and not responder.closed:
        responder.send_simple(500, b"the application sent no response\n", b"text/plain")
    elif not responder.finished:
        responder.end()
