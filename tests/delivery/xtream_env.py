"""A running Headend with subscribers for the Xtream stream-route tests, and a raw HTTP client.

The client speaks HTTP over a plain socket so a test controls every byte of the request line (paths
with ``..``, ``%2f`` or NUL reach the server as written) and the User-Agent (the device identity).
Every password a test creates is remembered; leaving :func:`xtream_headend` asserts none of them was
logged (reliability.md T22) — caplog runs at DEBUG for the whole test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headend.catalog.subscriber_records import LineInput, LineRecord, PackageInput
from headend.catalog.subscribers import SubscriberStore
from headend.runtime import Headend
from headend.settings import Settings
from headend.types import ChannelId
from tests.conftest import running_headend
from tests.tsutil import read_http_head

DEFAULT_UA = "headend-test"


@dataclass
class Line:
    record: LineRecord
    password: str

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def username(self) -> str:
        return self.record.username

    def live(self, channel_id: int, ext: str = ".ts") -> str:
        return f"/live/{self.username}/{self.password}/{channel_id}{ext}"

    def short(self, channel_id: int, ext: str = ".ts") -> str:
        return f"/{self.username}/{self.password}/{channel_id}{ext}"


@dataclass
class XtreamEnv:
    headend: Headend
    channel_ids: list[ChannelId]  # the first `entitled` of them are in the lines' bouquet
    entitled: list[ChannelId]
    package_id: int
    passwords: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.headend.port

    @property
    def store(self) -> SubscriberStore:
        assert self.headend.services is not None
        return self.headend.services.subscribers

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def request(self, path: str | bytes, **kwargs: Any) -> Response:
        """Like :func:`request`; the connection is closed at the latest when the environment ends."""
        response = await request(self.port, path, **kwargs)
        self.responses.append(response)
        return response

    async def fetch(self, path: str | bytes, **kwargs: Any) -> tuple[int, bytes]:
        return await fetch(self.port, path, **kwargs)

    async def line(self, username: str, **options: Any) -> Line:
        """Create a line on the test package; ``options`` are LineInput fields (password has a default)."""
        options.setdefault("password", f"Pw-{username}-9x7Q")
        options.setdefault("package_ids", (self.package_id,))
        record, password = await self.store.create_line(LineInput(username=username, **options))
        self.passwords.append(password)
        return Line(record, password)

    def active_count(self, line: Line) -> int:
        assert self.headend.services is not None
        return self.headend.services.sessions.active_count(line.id)

    async def wait_active(self, line: Line, count: int, timeout: float = 10.0) -> int:
        """Poll until the line has ``count`` live sessions or the deadline passes; returns the last count."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.active_count(line) != count and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return self.active_count(line)


def past(days: int = 1) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@contextlib.asynccontextmanager
async def xtream_headend(
    settings: Settings, caplog: pytest.LogCaptureFixture, channels: Sequence[Sequence[str]], *, entitled: int = 1
) -> AsyncIterator[XtreamEnv]:
    """Headend with ``channels``; a bouquet and package hold the first ``entitled`` ones. Checks log hygiene."""
    caplog.set_level(logging.DEBUG)
    async with running_headend(settings, channels) as (headend, ids):
        assert headend.services is not None
        store = headend.services.subscribers
        bouquet = await store.create_bouquet("Main", ids[:entitled])
        package = await store.create_package(PackageInput(name="Basic", max_connections=2, bouquet_ids=(bouquet.id,)))
        env = XtreamEnv(headend, ids, ids[:entitled], package.id)
        try:
            yield env
        finally:
            for response in env.responses:
                response.close()
    assert_not_logged(caplog, env.passwords)


def assert_not_logged(caplog: pytest.LogCaptureFixture, secrets: Sequence[str]) -> None:
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was captured: the log check would prove nothing"
    for secret in secrets:
        assert secret not in text, "a subscriber password reached the logs"


# -- a raw HTTP client ---------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def body(self, timeout: float = 10.0) -> bytes:
        if self.headers.get("transfer-encoding") == "chunked":
            return await asyncio.wait_for(self._chunked(), timeout)
        length = int(self.headers.get("content-length", "0"))
        return await asyncio.wait_for(self.reader.readexactly(length), timeout) if length else b""

    async def _chunked(self) -> bytes:
        out = bytearray()
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            out += await self.reader.readexactly(size)
            await self.reader.readexactly(2)
        await self.reader.readuntil(b"\r\n")
        return bytes(out)

    def close(self) -> None:
        self.writer.close()

    async def closed_by_server(self, timeout: float) -> bool:
        """True if the server closes the connection within ``timeout`` (data meanwhile is discarded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                if not await asyncio.wait_for(self.reader.read(1 << 16), remaining):
                    return True
            except TimeoutError:
                return False
            except ConnectionError:
                return True
        return False


async def request(
    port: int, path: str | bytes, *, method: str = "GET", ua: str = DEFAULT_UA, timeout: float = 30.0
) -> Response:
    raw = path.encode("latin-1") if isinstance(path, str) else path
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    host = b"127.0.0.1:%d" % port
    head = b"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n" % (method.encode(), raw, host, ua.encode())
    writer.write(head)
    await writer.drain()
    try:
        status, headers = await asyncio.wait_for(read_http_head(reader), timeout)
    except BaseException:
        writer.close()
        raise
    return Response(status, headers, reader, writer)


async def fetch(port: int, path: str | bytes, **kwargs: Any) -> tuple[int, bytes]:
    """Status and body of a request whose answer has a length (errors, playlists, segments)."""
    response = await request(port, path, **kwargs)
    try:
        live = response.headers.get("content-type") == "video/mp2t" and "content-length" not in response.headers
        if live or kwargs.get("method") == "HEAD":
            return response.status, b""  # a live stream or a HEAD: the status is the answer
        return response.status, await response.body()
    finally:
        response.close()


def segment_uris(playlist: bytes) -> list[str]:
    return [line for line in playlist.decode().splitlines() if line and not line.startswith("#")]


HLS_URI = re.compile(r"/hls/(?P<token>[A-Za-z0-9_-]+)/(?P<channel>\d+)/(?P<seq>\d+)\.ts")
