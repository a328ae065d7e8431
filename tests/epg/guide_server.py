"""A tiny HTTP server on 127.0.0.1 for EPG download tests: fixed bodies, redirects, stalls, request counts.

Runs in a thread of its own (``http.server``), so sync tests (the CLI, which runs its own event loop) and
async tests can both use it::

    with GuideServer() as server:
        server.route("/guide.xml", body=b"<tv/>")
        server.redirect("/old", "/guide.xml")
        url = server.url("/guide.xml")
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType


@dataclass
class Route:
    status: int = 200
    body: bytes | Path = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall_after: int | None = None  # send this many body bytes, then nothing until the server closes
    chunked_total: int | None = None  # send this many zero bytes, no Content-Length (close-delimited)


class GuideServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.headers_seen: list[dict[str, str]] = []
        self.closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routes -------------------------------------------------------------------------------------------------
    def route(self, path: str, **kwargs: object) -> None:
        self.routes[path] = Route(**kwargs)  # type: ignore[arg-type]

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": location})

    def url(self, path: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def __enter__(self) -> GuideServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="guide-server", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.closing.set()
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # -- serving ------------------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.requests[path] = self.requests[path] + 1
        self.headers_seen.append({k.lower(): v for k, v in handler.headers.items()})
        route = self.routes.get(path, Route(status=404, body=b"not found\n"))
        body = route.body.read_bytes() if isinstance(route.body, Path) else route.body
        handler.send_response(route.status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.chunked_total is None:
            handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            if route.chunked_total is not None:
                sent = 0
                while sent < route.chunked_total and not self.closing.is_set():
                    handler.wfile.write(b"\0" * 65536)
                    sent += 65536
            elif route.stall_after is not None:
                handler.wfile.write(body[: route.stall_after])
                handler.wfile.flush()
                self.closing.wait(60)
            else:
                handler.wfile.write(body)
        except OSError:  # the client hung up (a cap or a timeout on its side)
            pass
