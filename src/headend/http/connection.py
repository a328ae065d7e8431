"""One client connection: an asyncio Protocol that parses HTTP/1.1 with httptools and runs one request at a time.

Requests are parsed as bytes arrive; complete requests wait in a short queue and a single task per
connection answers them in order (pipelining-safe). The handler gets a :class:`Request` and a
:class:`Responder`. Protections: a deadline for the request head (slowloris), a cap on head and body size,
an idle keep-alive timeout, and bounded user-space write buffering (``pause_writing`` stops producers).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote

import httptools

from headend.settings import HttpSettings

if TYPE_CHECKING:
    from headend.http.server import ServerState

logger = logging.getLogger(__name__)

Handler = Callable[["Request", "Responder"], Awaitable[None]]

_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus} | {
    413: b"Content Too Large", 422: b"Unprocessable Content",  # RFC 9110 names
}  # fmt: skip


@dataclass(slots=True)
class Request:
    method: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    http_version: str
    keep_alive: bool
    client: tuple[str, int] | None
    body: bytes = b""

    @property
    def path(self) -> str:
        return unquote(self.raw_path.decode("latin-1"))

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class _Pending:
    method: str = ""
    url: bytearray = field(default_factory=bytearray)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class Responder:
    """Writes one response. Also the byte sink a live viewer is fed through (see headend.relay.fanout)."""

    def __init__(self, conn: HttpConnection, request: Request) -> None:
        self._conn = conn
        self._request = request
        self.started = False
        self.finished = False
        self.status = 0
        self.bytes_sent = 0
        self._close_after = not request.keep_alive
        self._chunked = False
        self._on_writable: Callable[[], None] | None = None

    # -- response head -------------------------------------------------------------------------------
    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]], *, length: int | None) -> None:
        """Send the status line and headers. ``length=None`` means an open-ended body: chunked for ASGI
        bodies on HTTP/1.1 (``chunked=True`` via :meth:`start_chunked`), otherwise ended by closing."""
        if self.started:
            raise RuntimeError("response already started")
        self.started = True
        self.status = status
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))]
        lines += [b"%s: %s\r\n" % (k, v) for k, v in headers]
        if length is not None:
            lines.append(b"content-length: %d\r\n" % length)
        elif self._chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        else:
            self._close_after = True
        if self._close_after or self._conn.draining:
            self._close_after = True
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        self._conn.write_raw(b"".join(lines))

    def start_chunked(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self._chunked = self._request.http_version == "1.1"
        self.start(status, headers, length=None)

    # -- body ------------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not data or self._request.method == "HEAD":
            return
        self.bytes_sent += len(data)
        if self._chunked:
            self._conn.write_many((b"%x\r\n" % len(data), data, b"\r\n"))
        else:
            self._conn.write_raw(data)

    def write_parts(self, parts: Sequence[bytes]) -> None:
        """Write several shared buffers without joining them (no user-space copy)."""
        if self._chunked:
            for part in parts:
                self.write(part)
            return
        self.bytes_sent += sum(len(p) for p in parts)
        self._conn.write_many(parts)

    def end(self) -> None:
        """The body is complete. The connection is reused or closed as HTTP says."""
        if self.finished:
            return
        self.finished = True
        if self._chunked and self._request.method != "HEAD":
            self._conn.write_raw(b"0\r\n\r\n")
        if self._close_after:
            self._conn.close()

    def send_simple(
        self, status: int, body: bytes, content_type: bytes, extra: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        headers = [(b"content-type", content_type), *extra]
        self.start(status, headers, length=len(body))
        if self._request.method != "HEAD":
            self.write(body)
        self.end()

    # -- flow control ------------------------------------------------------------------------------------
    def writable(self) -> bool:
        return not self._conn.write_paused and not self._conn.closed

    def buffered(self) -> int:
        return self._conn.buffered()

    def set_buffer_limits(self, high: int, *, kernel: int = 0) -> None:
        """Bound this response's user-space queue (``high``) and, when ``kernel`` > 0, the socket's send buffer."""
        self._conn.set_buffer_limits(high, kernel=kernel)

    def set_on_writable(self, callback: Callable[[], None] | None) -> None:
        self._on_writable = callback
        self._conn.on_writable = callback

    async def drain(self) -> None:
        await self._conn.drain()

    @property
    def closed(self) -> bool:
        return self._conn.closed

    async def wait_closed(self) -> None:
        await self._conn.wait_closed()

    def close(self) -> None:
        """Abort the connection (a viewer that fell behind, a channel that stopped)."""
        self.finished = True
        self._conn.close()


class HttpConnection(asyncio.Protocol):
    def __init__(self, state: ServerState, settings: HttpSettings) -> None:
        self._state = state
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._pending = _Pending()
        self._head_bytes = 0
        self._queue: deque[Request] = deque()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed_future: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiter: asyncio.Future[None] | None = None
        self._client: tuple[str, int] | None = None
        self._busy = False
        self.write_paused = False
        self.closed = False
        self.on_writable: Callable[[], None] | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio subclasses
        peer = transport.get_extra_info("peername")
        self._client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        if len(self._state.connections) >= self._settings.max_connections:
            body = b"server busy\n"
            head = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
            self._transport.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
            self.close()
            return
        self._state.connections.add(self)
        self._arm_timer(self._settings.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._state.connections.discard(self)
        self._cancel_timer()
        if not self._closed_future.done():
            self._closed_future.set_result(None)
        self._wake_drain()
        if self.on_writable is not None:
            self.on_writable()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(400, b"protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            # httptools wraps exceptions raised in callbacks; the limit checks leave theirs on the cause
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, _Reject):
                self._reject(cause.status, cause.message)
            else:
                self._reject(400, b"malformed request")

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_drain()
        if self.on_writable is not None:
            self.on_writable()

    # -- httptools callbacks -----------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._pending = _Pending()
        self._head_bytes = 1  # a request has begun: a timeout now answers 408
        if self.idle:
            self._arm_timer(self._settings.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._pending.url += url
        self._head_bytes += len(url)
        self._check_head_size()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._pending.headers.append((name.lower(), value))
        self._head_bytes += len(name) + len(value) + 4
        self._check_head_size()

    def on_headers_complete(self) -> None:
        self._cancel_timer()
        self._pending.method = self._parser.get_method().decode("ascii", "replace")

    def on_body(self, body: bytes) -> None:
        self._pending.body += body
        if len(self._pending.body) > self._settings.max_body_bytes:
            raise _Reject(413, b"request body too large")

    def on_message_complete(self) -> None:
        pending = self._pending
        url = httptools.parse_url(bytes(pending.url))
        request = Request(
            method=pending.method,
            raw_path=url.path or b"/",
            query_string=url.query or b"",
            headers=pending.headers,
            http_version=self._parser.get_http_version(),
            keep_alive=bool(self._parser.should_keep_alive()),
            client=self._client,
            body=bytes(pending.body),
        )
        self._head_bytes = 0
        self._queue.append(request)
        if len(self._queue) > 8 and self._transport is not None:
            self._transport.pause_reading()
        if self._task is None:
            self._task = self._loop.create_task(self._serve_queue())

    # -- serving -------------------------------------------------------------------------------------------
    async def _serve_queue(self) -> None:
        try:
            while self._queue and not self.closed:
                request = self._queue.popleft()
                if self._transport is not None and len(self._queue) <= 8:
                    self._transport.resume_reading()
                await self._serve_one(request)
        finally:
            self._task = None
        if not self.closed:
            self._arm_timer(self._settings.keepalive_timeout)

    async def _serve_one(self, request: Request) -> None:
        self._busy = True
        self._cancel_timer()
        responder = Responder(self, request)
        try:
            await self._state.dispatch(request, responder)
        except asyncio.CancelledError:
            self.close()
            raise
        except Exception:  # the one catch-all of the connection: a handler bug must not kill the server
            logger.exception("unhandled error serving %s", request.method)
            if not responder.started and not self.closed:
                responder.send_simple(500, b"internal server error\n", b"text/plain")
            else:
                self.close()
        finally:
            self._busy = False
        if not responder.finished:
            responder.end()

    # -- writing -------------------------------------------------------------------------------------------
    def write_raw(self, data: bytes) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    def write_many(self, parts: Sequence[bytes]) -> None:
        if self._transport is not None and not self.closed:
            self._transport.writelines(parts)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size() if self._transport is not None else 0

    def set_buffer_limits(self, high: int, *, kernel: int = 0) -> None:
        if self._transport is None:
            return
        self._transport.set_write_buffer_limits(high=high, low=high // 4)
        sock = self._transport.get_extra_info("socket")
        if kernel > 0 and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, kernel)

    async def drain(self) -> None:
        if not self.write_paused or self.closed:
            return
        self._drain_waiter = self._loop.create_future()
        await self._drain_waiter

    def _wake_drain(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed_future)

    @property
    def draining(self) -> bool:
        return self._state.draining

    @property
    def idle(self) -> bool:
        return not self._busy and not self._queue

    def close(self) -> None:
        if self._transport is not None and not self.closed:
            self.closed = True
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self.closed = True
            self._transport.abort()

    # -- limits --------------------------------------------------------------------------------------------
    def _check_head_size(self) -> None:
        if self._head_bytes > self._settings.max_header_bytes:
            raise _Reject(431, b"request head too large")

    def _reject(self, status: int, message: bytes) -> None:
        if self._transport is None or self.closed:
            return
        if not self._busy:
            head = b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            self._transport.write(head % (status, _REASONS.get(status, b"Error"), len(message) + 1) + message + b"\n")
        self.close()

    def _arm_timer(self, seconds: float) -> None:
        self._cancel_timer()
        self._timer = self._loop.call_later(seconds, self._on_timeout)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self) -> None:
        self._timer = None
        if self.idle and self._head_bytes == 0:
            self.close()  # idle keep-alive, or a client that connected and said nothing
        elif self.idle:
            self._reject(408, b"request head not received in time")


class _Reject(Exception):
    def __init__(self, status: int, message: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.message = message
