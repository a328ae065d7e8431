"""Headend's own HTTP/1.1 server: ASGI bridge, native routes, keep-alive, limits and slow clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from headend.errors import NotFound
from headend.http.connection import Request, Responder
from headend.http.policy import Policy
from headend.http.routes import NativeRouter
from headend.http.server import HttpServer
from headend.settings import HttpSettings


async def hello(request: StarletteRequest) -> Response:
    return PlainTextResponse("hello " + request.query_params.get("name", "world"))


async def echo(request: StarletteRequest) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


async def stream(request: StarletteRequest) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"part{i};".encode()

    return StreamingResponse(parts(), media_type="text/plain")


async def crash(request: StarletteRequest) -> Response:
    raise RuntimeError("boom")


async def created(request: StarletteRequest) -> Response:
    return Response(b"", status_code=int(request.query_params.get("status", "201")))


APP = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/echo", echo, methods=["POST"]),
        Route("/stream", stream),
        Route("/crash", crash),
        Route("/created", created),
    ]
)


async def native(request: Request, responder: Responder, params: Mapping[str, str]) -> None:
    if params["n"] == "0":
        raise NotFound("no such thing")
    responder.send_simple(200, b"native " + params["n"].encode(), b"text/plain")


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    router = NativeRouter()
    router.add("native", "/native/{n}", r"/native/(?P<n>\d+)", native, policy=Policy.PUBLIC)
    settings = HttpSettings(
        port=0, header_timeout=0.5, keepalive_timeout=1.0, max_header_bytes=4096, max_body_bytes=1024
    )
    srv = HttpServer(settings, app=APP, router=router)
    await srv.start()
    yield srv
    await srv.aclose()


def base(server: HttpServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def raw(server: HttpServer, data: bytes, *, read_timeout: float = 3.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(1 << 20), read_timeout)
    finally:
        writer.close()


async def test_asgi_app_and_native_routes(server: HttpServer) -> None:
    async with httpx.AsyncClient(base_url=base(server)) as client:
        r = await client.get("/hello", params={"name": "viewer"})
        assert (r.status_code, r.text) == (200, "hello viewer")
        r = await client.get("/native/7")
        assert (r.status_code, r.text) == (200, "native 7")
        r = await client.get("/native/0")
        assert r.status_code == 404
        assert r.json() == {"error": {"type": "NotFound", "message": "no such thing"}}
        r = await client.post("/echo", content=b"x" * 100)
        assert r.content == b"x" * 100
        r = await client.get("/stream")
        assert r.text == "part0;part1;part2;part3;part4;"
        assert r.headers["transfer-encoding"] == "chunked"


async def test_application_error_is_a_500_and_server_survives(server: HttpServer) -> None:
    async with httpx.AsyncClient(base_url=base(server)) as client:
        r = await client.get("/crash")
        assert r.status_code == 500
        assert "boom" not in r.text
        assert (await client.get("/hello")).status_code == 200


async def test_keep_alive_serves_pipelined_requests_in_order(server: HttpServer) -> None:
    req = b"GET /hello?name=%d HTTP/1.1\r\nHost: x\r\n\r\n"
    data = await raw(
        server, b"".join(req % i for i in range(3)) + b"GET /native/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    text = data.decode()
    assert text.count("HTTP/1.1 200 OK") == 4
    assert text.index("hello 0") < text.index("hello 1") < text.index("hello 2") < text.index("native 9")


@pytest.mark.parametrize(
    ("status", "line"), [(201, b"201 Created"), (202, b"202 Accepted"), (422, b"422 Unprocessable Content")]
)
async def test_status_lines_carry_the_standard_reason_phrase(server: HttpServer, status: int, line: bytes) -> None:
    data = await raw(server, b"GET /created?status=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % status)
    assert data.startswith(b"HTTP/1.1 " + line + b"\r\n")


async def test_oversized_head_gets_431(server: HttpServer) -> None:
    data = await raw(server, b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 431")


async def test_oversized_body_gets_413(server: HttpServer) -> None:
    body = b"y" * 5000
    data = await raw(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + body)
    assert data.startswith(b"HTTP/1.1 413")


async def test_malformed_request_gets_400(server: HttpServer) -> None:
    data = await raw(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400")


async def test_slow_request_head_is_cut(server: HttpServer) -> None:
    """Slowloris: a client that never finishes its request head is answered 408 and disconnected."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    data = await asyncio.wait_for(reader.read(1024), 5)
    assert data.startswith(b"HTTP/1.1 408")
    assert await asyncio.wait_for(reader.read(1024), 5) == b""
    writer.close()


async def test_idle_connections_are_closed(server: HttpServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await asyncio.wait_for(reader.read(1024), 5) == b""
    writer.close()
    assert server.connection_count == 0


async def test_head_request_has_no_body(server: HttpServer) -> None:
    data = await raw(server, b"HEAD /native/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-length: 8" in head
    assert body == b""


async def test_head_of_a_streamed_response_keeps_the_connection_usable(server: HttpServer) -> None:
    """HEAD of a chunked (streamed) response sends headers only, so the next request on the connection works."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 5)  # until the server closes after the second response
    writer.close()
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
    assert rest.endswith(b"hello world")


async def test_connections_over_the_cap_get_503() -> None:
    capped = HttpServer(HttpSettings(port=0, max_connections=2), app=APP, router=NativeRouter())
    await capped.start()
    try:
        held = [await asyncio.open_connection("127.0.0.1", capped.port) for _ in range(2)]
        await asyncio.sleep(0.05)
        data = await raw(capped, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 503")
        for _reader, writer in held:
            writer.close()
    finally:
        await capped.aclose()
