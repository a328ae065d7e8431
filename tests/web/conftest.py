"""The admin panel's test environment: a running Headend with one account per role, logged-in HTTP clients,
and headless Chromium driven by Playwright (Debian's /usr/bin/chromium; test tools' browser downloads do not
work here, so the executable is always given).

Each test module shares one server and one browser (module-scoped, on the module's event loop); tests use
their own objects (names include the test's name) so they do not depend on each other's order.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, async_playwright

from headend import settings as settings_mod
from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.catalog.records import ChannelInput
from headend.catalog.subscriber_records import PackageInput
from headend.cli import source_input
from headend.runtime import Headend
from headend.services import Services
from headend.settings import Settings
from headend.types import ChannelId

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_FLAGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Playwright adds --headless and a fresh, empty --user-data-dir of its own to every launch."""
REPO: Final = Path(__file__).resolve().parents[2]
SCREENSHOTS: Final = REPO / "test-artifacts" / "screenshots"
PASSWORD: Final = "panel-test-password-1"
ROLES: Final = ("admin", "operator", "support", "reseller", "reseller2")
_CSRF: Final = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def web_settings(data_dir: Path, **sections: dict[str, Any]) -> Settings:
    """The same test settings as tests/conftest.py's ``settings`` fixture, on ``data_dir``."""
    base = settings_mod.load(env={})
    defaults: dict[str, dict[str, Any]] = {
        "http": {"port": 0, "host": "127.0.0.1"},
        "paths": {"data_dir": data_dir},
        "delivery": {"test_routes": True},
        "admin": {"api_token": "test-operator-token"},
        "relay": {"idle_grace_s": 2.0, "start_wait_s": 15.0, "buffer_seconds": 6.0},
        "hls": {"segment_seconds": 1.0, "playlist_length": 4},
        "ingest": {"stall_bytes_s": 3.0, "stall_pts_s": 5.0, "start_timeout_s": 8.0, "backoff_initial_s": 0.2,
                   "backoff_max_s": 2.0, "term_grace_s": 1.0},
    }  # fmt: skip
    for name, values in sections.items():
        defaults[name] = defaults.get(name, {}) | values
    return settings_mod.replace(base, **defaults)


@dataclass
class Account:
    id: int
    username: str
    role: Role


@dataclass
class PanelClient:
    """An httpx client logged in to the panel as one account, with that session's CSRF token."""

    client: httpx.AsyncClient
    csrf: str
    account: Account | None

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None) -> httpx.Response:
        """POST a form; the session's CSRF token is added unless ``csrf`` says otherwise ("" sends none)."""
        form = dict(data or {})
        token = self.csrf if csrf is None else csrf
        if token:
            form["csrf_token"] = token
        return await self.client.post(path, data=form)


@dataclass
class Panel:
    headend: Headend
    channel_ids: list[ChannelId]
    accounts: dict[str, Account] = field(default_factory=dict)
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.headend.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> Services:
        assert self.headend.services is not None
        return self.headend.services

    def anonymous(self, **kwargs: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.base_url, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    async def login(self, role: str) -> PanelClient:
        """A client with a fresh session of the account named ``role``."""
        account = self.accounts[role]
        client = self.anonymous()
        answer = await client.post("/admin/login", data={"username": account.username, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        page = await client.get("/admin/tokens")
        return PanelClient(client, csrf_of(page.text), account)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF token"
    assert found.group(1), "the page's CSRF token is empty"
    return found.group(1)


async def add_accounts(svc: Services) -> dict[str, Account]:
    package = await svc.subscribers.create_package(PackageInput(name="Reseller package", credit_cost=1))
    out = {}
    for name in ROLES:
        role = Role.RESELLER if name.startswith("reseller") else Role(name)
        data = AdminInput(username=f"panel-{name}", role=role, password=PASSWORD, credits=10, packages=(package.id,))
        record, _password = await svc.admin_accounts.create(data)
        out[name] = Account(record.id, record.username, role)
    return out


@contextlib.asynccontextmanager
async def panel_server(settings: Settings, channels: Sequence[Sequence[str]] = ()) -> AsyncIterator[Panel]:
    """Headend with one account per role (password :data:`PASSWORD`) and ``channels`` (source lists)."""
    headend = Headend(settings)
    await headend.start()
    panel = Panel(headend, [])
    try:
        svc = panel.services
        panel.accounts = await add_accounts(svc)
        for index, sources in enumerate(channels, 1):
            channel = await svc.channels.create_channel(ChannelInput(name=f"Loop {index}", number=900 + index))
            for source in sources:
                await svc.channels.add_source(channel.id, source_input(source))
            panel.channel_ids.append(channel.id)
        yield panel
    finally:
        for client in panel.clients:
            await client.aclose()
        await headend.aclose()


# -- the browser ---------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` or `bash scripts/ensure-system-deps browser`")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class BrowserSession:
    """A browser context logged in (or not) to the panel, recording console errors and CSP violations."""

    context: BrowserContext
    page: Page
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept_dialogs: bool = False  # confirm() of destructive buttons; any dialog is recorded

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    async def login(self, username: str, password: str = PASSWORD) -> None:
        await self.goto("/admin/login")
        await self.page.fill("#f-username", username)
        await self.page.fill("#f-password", password)
        await self.page.click("form[action='/admin/login'] button[type=submit]")
        await self.page.wait_for_url(re.compile(r".*/admin(/.*)?$"))

    async def csp_violations(self) -> list[str]:
        """Violations recorded by the page's securitypolicyviolation listener and the console."""
        found = await self.page.evaluate("() => (window.__cspViolations || []).slice()")
        console = [m for m in self.console_errors if "Content Security Policy" in m or "Content-Security-Policy" in m]
        return [str(v) for v in found] + console

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


_RECORD_VIOLATIONS: Final = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


async def open_session(
    browser: Browser, base_url: str, *, viewport: tuple[int, int] = (1280, 900), mobile: bool = False
) -> BrowserSession:
    """A fresh context (its own cookies) with the violation recorder installed in every page."""
    width, height = viewport
    context = await browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile, device_scale_factor=1
    )
    await context.add_init_script(_RECORD_VIOLATIONS)
    page = await context.new_page()
    session = BrowserSession(context, page, base_url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            session.console_errors.append(message.text)

    async def on_dialog(dialog: Dialog) -> None:
        session.dialogs.append(f"{dialog.type}: {dialog.message}")
        await (dialog.accept() if session.accept_dialogs else dialog.dismiss())

    page.on("console", on_console)
    page.on("dialog", on_dialog)
    return session
