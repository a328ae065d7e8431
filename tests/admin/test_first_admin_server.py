"""The server's start: the first admin's password goes to stdout once (not the log); a network-facing
server without an admin does not start."""

from __future__ import annotations

import re

import pytest

from headend import settings as settings_mod
from headend.admin.principal import Role
from headend.errors import ConfigError
from headend.runtime import Headend
from headend.settings import Settings


async def test_loopback_server_prints_the_first_password_once(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    headend = Headend(settings)
    await headend.start()
    try:
        out = capsys.readouterr().out
        found = re.search(r"password: (\S+)", out)
        assert found is not None, out
        password = found.group(1)
        assert "headend admin passwd admin" in out
        assert password not in caplog.text
        assert headend.services is not None
        account = await headend.services.admin_accounts.authenticate("admin", password)
        assert account.role is Role.ADMIN
        assert [e.action for e in await headend.services.audit.list()] == ["admin.bootstrap"]
        cookie, _ = await headend.services.admin_sessions.create(account, ip="127.0.0.1", user_agent="test")
        assert await headend.services.admin_sessions.resolve(cookie) is not None
    finally:
        await headend.aclose()
    again = Headend(settings)
    await again.start()
    try:
        assert "password" not in capsys.readouterr().out
    finally:
        await again.aclose()


async def test_network_server_without_an_admin_refuses_to_start(settings: Settings) -> None:
    exposed = settings_mod.replace(settings, http={"host": "0.0.0.0"})
    headend = Headend(exposed)
    with pytest.raises(ConfigError, match="headend admin create"):
        await headend.start()
    assert headend.services is None
    assert headend.http is None
