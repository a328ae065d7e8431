"""``headend category …`` and ``headend profile …``: channel categories and processing profiles.

Categories are named within their kind (``live``, ``movie``, ``series``; ``--kind``, default live); deleting
one leaves its channels without a category. Profiles are named; a transcoding profile sets x264/AAC limits
(each checked like the REST API's). Changes are audited with actor ``cli`` (``category.create``,
``category.delete``, ``profile.create``).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from headend.admin.audit import AuditLog
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.records import CategoryKind, CategoryRecord, ProfileRecord
from headend.cli import Subparsers, _emit, _print, add_action, run_db, snapshot
from headend.errors import NotFound
from headend.ingest.sources import X264_PRESETS, Profile, ProfileMode
from headend.settings import Settings

CATEGORY_COLUMNS = ["id", "kind", "name", "position"]
PROFILE_COLUMNS = ["id", "name", "mode", "video_bitrate_kbps", "max_height", "fps", "gop_seconds", "x264_preset",
                   "audio_bitrate_kbps"]  # fmt: skip
KINDS = [kind.value for kind in CategoryKind]


@dataclass(frozen=True, slots=True)
class _Context:
    store: ChannelStore
    audit: AuditLog


async def find_category(store: ChannelStore, name: str, kind: CategoryKind | str = CategoryKind.LIVE) -> CategoryRecord:
    """The category of ``kind`` named exactly ``name`` (NotFound otherwise)."""
    for category in await store.list_categories(kind):
        if category.name == name:
            return category
    raise NotFound(f"no {CategoryKind(kind).value} category named {name[:80]!r}")


async def category_id(store: ChannelStore, name: str) -> int:
    """The id of the live category named ``name`` (for a channel's ``--category``)."""
    return (await find_category(store, name)).id


def _run(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        await ACTIONS[(args.command, args.action)](args, _Context(ChannelStore(db), AuditLog(db)))
        return 0

    return run_db(settings, work)


def cmd_category(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args)


def cmd_profile(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args)


# -- categories --------------------------------------------------------------------------------------------------


async def _category_list(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [dataclasses.asdict(c) for c in await ctx.store.list_categories(args.kind)], CATEGORY_COLUMNS)


async def _category_add(args: argparse.Namespace, ctx: _Context) -> None:
    category = await ctx.store.create_category(args.kind, args.name)
    await ctx.audit.record(None, "category.create", "category", category.id, after=snapshot(category))
    _emit(args, [dataclasses.asdict(category)], CATEGORY_COLUMNS)


async def _category_delete(args: argparse.Namespace, ctx: _Context) -> None:
    category = await find_category(ctx.store, args.name, args.kind)
    await ctx.store.delete_category(category.id)
    await ctx.audit.record(None, "category.delete", "category", category.id, before=snapshot(category))
    _print(f"{category.kind.value} category {category.name} deleted")


# -- profiles ----------------------------------------------------------------------------------------------------


def _profile_row(record: ProfileRecord) -> dict[str, Any]:
    return {"id": record.id, **dataclasses.asdict(record.profile)}


async def _profile_list(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [_profile_row(p) for p in await ctx.store.list_profiles()], PROFILE_COLUMNS)


async def _profile_add(args: argparse.Namespace, ctx: _Context) -> None:
    profile = Profile(
        name=args.name, mode=ProfileMode(args.mode), video_bitrate_kbps=args.video_bitrate, max_height=args.max_height,
        fps=args.fps, gop_seconds=args.gop_seconds, x264_preset=args.preset, audio_bitrate_kbps=args.audio_bitrate,
    )  # fmt: skip
    record = await ctx.store.create_profile(profile)
    await ctx.audit.record(None, "profile.create", "profile", record.id, after=_profile_row(record))
    _emit(args, [_profile_row(record)], PROFILE_COLUMNS)


ACTIONS = {
    ("category", "list"): _category_list, ("category", "add"): _category_add,
    ("category", "delete"): _category_delete, ("profile", "list"): _profile_list, ("profile", "add"): _profile_add,
}  # fmt: skip


# -- parsers -----------------------------------------------------------------------------------------------------


def _kind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, default="live", help="default: live")


def _profile_parser(sub: Subparsers) -> None:
    profile = sub.add_parser("profile", help="processing profiles (remux, or x264/AAC transcoding)")
    profile.set_defaults(func=cmd_profile)
    actions = profile.add_subparsers(dest="action", required=True)
    add_action(actions, "list", "list profiles")
    add = add_action(actions, "add", "create a profile")
    add.add_argument("name")
    add.add_argument("--mode", choices=[m.value for m in ProfileMode], default="remux", help="default: remux")
    add.add_argument("--video-bitrate", type=int, default=2500, help="kbit/s, 100-50000 (default 2500)")
    add.add_argument("--max-height", type=int, default=720, help="scale down to this height (default 720)")
    add.add_argument("--fps", type=int, default=25, help="default 25")
    add.add_argument("--gop-seconds", type=float, default=2.0, help="keyframe interval (default 2.0)")
    add.add_argument("--preset", choices=sorted(X264_PRESETS), default="veryfast", help="x264 preset")
    add.add_argument("--audio-bitrate", type=int, default=128, help="kbit/s, 16-512 (default 128)")


def add_parsers(sub: Subparsers) -> None:
    """Register ``category`` and ``profile`` on the ``headend`` parser."""
    category = sub.add_parser("category", help="channel categories (live, movie, series)")
    category.set_defaults(func=cmd_category)
    actions = category.add_subparsers(dest="action", required=True)
    _kind(add_action(actions, "list", "list the categories of one kind"))
    add = add_action(actions, "add", "create a category (last in order)")
    add.add_argument("name")
    _kind(add)
    delete = add_action(actions, "delete", "delete a category (its channels keep existing without one)", json=False)
    delete.add_argument("name")
    _kind(delete)
    _profile_parser(sub)


__all__ = ["add_parsers", "category_id", "cmd_category", "cmd_profile", "find_category"]
