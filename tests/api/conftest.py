"""A real Headend (own HTTP server, SQLite, real authenticator) seeded with a small subscriber world.

Channels (number, EPG id, category): Campus TV (1, campus.tv, News), Sports One (5, sports.one, Sports),
a hostile name without number/EPG id/category, Other Side (9, other.side, News: only in bouquet B), and a
disabled channel in bouquet A. Lines: alice (A, active), bob (B), trial (A, trial, m3u8 only, never
expires), and expired/banned/disabled lines on A.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from headend.catalog.records import CategoryKind, ChannelInput
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.runtime import Headend
from headend.services import Services
from headend.settings import Settings
from tests.conftest import running_headend

PASSWORD = "s3cret-pass"
# The catalog refuses C0/C1 controls in names, but not U+2028 (a line break to str.splitlines and to JS).
HOSTILE_NAME = 'Evil "Name", tvg-id="x" radio=true\u2028#EXTINF:-1,Injected <b>&amp; é'

LOGO = "http://logos.example/campus.png"


@dataclass(frozen=True, slots=True)
class World:
    headend: Headend
    channels: dict[str, int]  # by short name
    categories: dict[str, int]
    lines: dict[str, int]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.headend.port}"

    @property
    def services(self) -> Services:
        assert self.headend.services is not None
        return self.headend.services

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=10, **kwargs)  # type: ignore[arg-type]


async def seed(svc: Services) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    store, subs = svc.channels, svc.subscribers
    news = await store.ensure_category(CategoryKind.LIVE, "News")
    sports = await store.ensure_category(CategoryKind.LIVE, "Sports")
    await store.ensure_category(CategoryKind.LIVE, "Empty")
    made: dict[str, int] = {}
    channel_inputs: dict[str, ChannelInput] = {
        "campus": ChannelInput(name="Campus TV", number=1, tvg_id="campus.tv", logo_url=LOGO, category_id=news.id),
        "sports": ChannelInput(name="Sports One", number=5, tvg_id="sports.one", category_id=sports.id),
        "hostile": ChannelInput(name=HOSTILE_NAME, tvg_id=""),
        "other": ChannelInput(name="Other Side", number=9, tvg_id="other.side", category_id=news.id),
        "off": ChannelInput(name="Off Air", number=3, tvg_id="off.air", enabled=False),
    }
    for key, channel in channel_inputs.items():
        made[key] = (await store.create_channel(channel)).id
    bouquet_a = await subs.create_bouquet("A", [made["campus"], made["sports"], made["hostile"], made["off"]])
    bouquet_b = await subs.create_bouquet("B", [made["other"]])
    basic = await subs.create_package(PackageInput(name="Basic", bouquet_ids=(bouquet_a.id,), max_connections=2))
    other = await subs.create_package(PackageInput(name="Other", bouquet_ids=(bouquet_b.id,)))
    past = datetime.now(UTC) - timedelta(days=1)
    lines: dict[str, int] = {}
    line_inputs: dict[str, LineInput] = {
        "alice": LineInput(username="alice", password=PASSWORD, package_ids=(basic.id,)),
        "bob": LineInput(username="bob", password=PASSWORD, package_ids=(other.id,)),
        "trial": LineInput(
            username="trial", password=PASSWORD, package_ids=(basic.id,), is_trial=True, allowed_outputs=("m3u8",)
        ),
        "expired": LineInput(username="expired", password=PASSWORD, package_ids=(basic.id,), exp_at=past),
        "banned": LineInput(username="banned", password=PASSWORD, package_ids=(basic.id,)),
        "disabled": LineInput(username="disabled", password=PASSWORD, package_ids=(basic.id,), enabled=False),
    }
    for name, data in line_inputs.items():
        lines[name] = (await subs.create_line(data))[0].id
    await subs.ban(lines["banned"], "test")
    return made, {"news": news.id, "sports": sports.id}, lines


@contextlib.asynccontextmanager
async def seeded_world(settings: Settings) -> AsyncIterator[World]:
    async with running_headend(settings, []) as (headend, _ids):
        assert headend.services is not None
        channels, categories, lines = await seed(headend.services)
        yield World(headend, channels, categories, lines)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with seeded_world(settings) as found:
        yield found


def creds(username: str = "alice", password: str = PASSWORD, **extra: str) -> dict[str, str]:
    return {"username": username, "password": password, **extra}
