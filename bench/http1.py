"""The bench's HTTP/1.1 client side: an asyncio Protocol around httptools' response parser.

Loopback only: every helper refuses a host other than 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable
from typing import Any, cast

import httptools

LOOPBACK = "127.0.0.1"


def request_bytes(path: str, *, keep_alive: bool = True) -> bytes:
    connection = "keep-alive" if keep_alive else "close"
    return (
        f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nUser-Agent: headend-bench\r\nAccept: */*\r\n"
        f"Connection: {connection}\r\n\r\n"
    ).encode("ascii")


def check_loopback(host: str) -> None:
    if host != LOOPBACK:
        raise ValueError(f"the bench only talks to {LOOPBACK}, not {host!r}")


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def install_uvloop() -> bool:
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


class HttpStream(asyncio.Protocol):
    """One client connection. Subclasses override :meth:`on_body`, :meth:`on_response`, :meth:`on_done`."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser: Any = httptools.HttpResponseParser(self)
        self.status = 0
        self.chunked = False
        self.content_length = -1
        self.error = ""
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self.closing = False  # we closed it (as opposed to the server)

    # -- asyncio.Protocol ------------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = f"parse error: {exc}"
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self.error:
            self.error = f"{type(exc).__name__}: {exc}"
        if not self.lost.done():
            self.lost.set_result(None)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    # -- httptools callbacks -----------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.status = 0
        self.chunked = False
        self.content_length = -1

    def on_header(self, name: bytes, value: bytes) -> None:
        lname = name.lower()
        if lname == b"transfer-encoding" and b"chunked" in value.lower():
            self.chunked = True
        elif lname == b"content-length":
            self.content_length = int(value)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.on_response()

    def on_message_complete(self) -> None:
        self.on_done()

    # -- hooks -------------------------------------------------------------------------------------------------
    def on_response(self) -> None:
        """The status line and headers are in."""

    def on_body(self, body: bytes) -> None:
        """A piece of the body (de-chunked)."""

    def on_done(self) -> None:
        """The whole response is in."""


async def connect(
    factory: Callable[[], HttpStream], host: str, port: int, timeout: float = 10.0
) -> tuple[HttpStream | None, str]:
    """Open one connection; returns (protocol, "") or (None, error)."""
    check_loopback(host)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, proto = await loop.create_connection(factory, host, port)
    except (OSError, TimeoutError) as exc:
        return None, f"connect: {type(exc).__name__}: {exc}"
    return proto, ""
