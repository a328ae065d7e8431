"""A real Headend served from its own thread and event loop, for synchronous clients (schemathesis uses
``requests``, which would block an event loop shared with the server).

:func:`serve_in_thread` starts the server on a uvloop loop in a daemon thread and stops it (``aclose``) when
the context ends; :meth:`Served.run` runs a coroutine on the server's loop from the test's thread (to reach
the real services, e.g. to mint an API token).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvloop

from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.runtime import Headend
from headend.services import Services
from headend.settings import Settings

T = TypeVar("T")
START_TIMEOUT_S = 60.0


@dataclass
class Served:
    headend: Headend
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event
    tokens: list[str] = field(default_factory=list)
    calls: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status) answered

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.headend.port}"

    @property
    def services(self) -> Services:
        assert self.headend.services is not None
        return self.headend.services

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def mint_admin_token(self) -> str:
        """A new admin account (on the real server) and an API token acting as it."""

        async def mint() -> str:
            number = len(self.tokens) + 1
            account, _ = await self.services.admin_accounts.create(
                AdminInput(username=f"fuzz-admin-{number}", role=Role.ADMIN)
            )
            _, token = await self.services.api_tokens.create(account.id, "schemathesis")
            return token

        token = self.run(mint())
        self.tokens.append(token)
        return token

    @property
    def token(self) -> str:
        return self.tokens[-1] if self.tokens else self.mint_admin_token()


@contextlib.contextmanager
def serve_in_thread(settings: Settings) -> Iterator[Served]:
    ready = threading.Event()
    started: list[Served] = []
    failure: list[BaseException] = []

    async def main() -> None:
        headend = Headend(settings)
        try:
            await headend.start()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            raise
        served = Served(headend, asyncio.get_running_loop(), asyncio.Event())
        started.append(served)
        ready.set()
        try:
            await served.stop.wait()
        finally:
            await headend.aclose()

    def thread_main() -> None:
        with contextlib.suppress(BaseException):  # a start failure is reported to the caller below
            uvloop.run(main())

    thread = threading.Thread(target=thread_main, name="headend-server", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT_S) or failure or not started:
        raise RuntimeError(f"the server did not start: {failure!r}")
    served = started[0]
    try:
        yield served
    finally:
        served.loop.call_soon_threadsafe(served.stop.set)
        thread.join(START_TIMEOUT_S)
        assert not thread.is_alive(), "the server thread did not stop"
