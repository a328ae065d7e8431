"""``headend channel …``: channels and their sources (in failover order) from the command line.

Channels and sources go by id (``channel list`` / ``channel show ID``), categories and profiles by name.
Source positions count from 0 (the primary), as ``channel show`` prints them. Every change is written to
the audit log with actor ``cli`` and the REST API's action names (``channel.create``, ``source.update``, …);
source URLs are redacted in output and in the log. A running server uses a changed channel from the
channel's next start (on demand: its next first viewer; always on: the next server start).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from headend.admin.audit import AuditLog
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.records import ChannelInput, ChannelPatch, ChannelRecord, SourceRecord
from headend.cli import Subparsers, _emit, _print, add_action, nothing_to_change, run_db, snapshot, source_input
from headend.cli_catalog import category_id
from headend.errors import ConfigError
from headend.redact import redact
from headend.settings import Settings

CHANNEL_COLUMNS = ["id", "number", "name", "on_demand", "enabled", "tvg_id"]
SOURCE_COLUMNS = ["id", "position", "kind", "url", "enabled"]
UPDATE_OPTIONS = ("name", "number", "logo", "tvg_id", "category", "profile", "on_demand", "enabled")


@dataclass(frozen=True, slots=True)
class _Context:
    store: ChannelStore
    audit: AuditLog


def cmd_channel(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> int:
        await ACTIONS[args.action](args, _Context(ChannelStore(db), AuditLog(db)))
        return int(getattr(args, "exit_code", 0))

    return run_db(settings, work)


def channel_view(record: ChannelRecord) -> dict[str, object]:
    """A channel's stored settings for the audit log (as the REST API records them: no ``updated_at``)."""
    return snapshot(record, drop=("updated_at",))


def source_view(record: SourceRecord) -> dict[str, Any]:
    """A source as the REST API shows and audits it (the URL's credentials redacted)."""
    spec = record.spec
    return {
        "id": record.id, "channel_id": record.channel_id, "position": record.position, "kind": spec.kind.value,
        "url": redact(spec.url), "label": spec.label, "reconnect": spec.reconnect, "user_agent": spec.user_agent,
        "enabled": record.enabled,
    }  # fmt: skip


# -- channels ----------------------------------------------------------------------------------------------------


async def _list(args: argparse.Namespace, ctx: _Context) -> None:
    rows = [dataclasses.asdict(c) for c in await ctx.store.list_channels(search=args.search)]
    _emit(args, rows, CHANNEL_COLUMNS)


async def _add(args: argparse.Namespace, ctx: _Context) -> None:
    inputs = [source_input(url) for url in args.source or []]  # validate all before writing anything
    profile = await ctx.store.get_profile_by_name(args.profile)
    category = await category_id(ctx.store, args.category) if args.category else None
    channel = await ctx.store.create_channel(
        ChannelInput(name=args.name, number=args.number, tvg_id=args.tvg_id or "", logo_url=args.logo or "",
                     on_demand=not args.always_on, profile_id=profile.id, category_id=category,
                     enabled=not args.disabled)
    )  # fmt: skip
    await ctx.audit.record(None, "channel.create", "channel", channel.id, after=channel_view(channel))
    for item in inputs:
        source = await ctx.store.add_source(channel.id, item)
        await ctx.audit.record(None, "source.create", "source", source.id, after=source_view(source))
    _emit(args, [dataclasses.asdict(channel)], ["id", "number", "name", "on_demand"])


async def _show(args: argparse.Namespace, ctx: _Context) -> None:
    channel = await ctx.store.get_channel(args.id)
    _emit(args, [dataclasses.asdict(channel)], [*CHANNEL_COLUMNS, "category_id", "profile_id", "logo_url"])
    _print("")
    _emit(args, [source_view(s) for s in await ctx.store.list_sources(args.id)], SOURCE_COLUMNS)


async def _patch(args: argparse.Namespace, ctx: _Context) -> ChannelPatch:
    nothing_to_change(args, UPDATE_OPTIONS)
    fields: dict[str, Any] = {
        "name": args.name, "logo_url": args.logo, "tvg_id": args.tvg_id, "on_demand": args.on_demand,
        "enabled": args.enabled,
    }  # fmt: skip
    fields = {name: value for name, value in fields.items() if value is not None}
    if args.number is not None:
        fields["number"] = None if args.number == 0 else args.number
    if args.category is not None:
        fields["category_id"] = await category_id(ctx.store, args.category) if args.category else None
    if args.profile is not None:
        fields["profile_id"] = (await ctx.store.get_profile_by_name(args.profile)).id
    return ChannelPatch(**fields)  # the fields not given stay UNSET: unchanged


async def _update(args: argparse.Namespace, ctx: _Context) -> None:
    before = await ctx.store.get_channel(args.id)
    channel = await ctx.store.update_channel(before.id, await _patch(args, ctx))
    await ctx.audit.record(
        None, "channel.update", "channel", channel.id, before=channel_view(before), after=channel_view(channel)
    )
    _emit(args, [dataclasses.asdict(channel)], [*CHANNEL_COLUMNS, "category_id", "profile_id", "logo_url"])


async def _delete(args: argparse.Namespace, ctx: _Context) -> None:
    before = await ctx.store.get_channel(args.id)
    await ctx.store.delete_channel(before.id)
    await ctx.audit.record(None, "channel.delete", "channel", before.id, before=channel_view(before))
    _print(f"channel {args.id} deleted")


def _open_import(path: Path, max_bytes: int) -> BinaryIO:
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ConfigError(f"{path} is {size} bytes, more than --max-bytes {max_bytes}")
    return path.open("rb")


async def _import(args: argparse.Namespace, ctx: _Context) -> None:
    from headend.importing import Importer, ImportReport
    from headend.playlists.m3u_parse import parse

    path: Path = args.file

    def progress(report: ImportReport) -> None:
        sys.stderr.write(f"\r  {report.entries} entries read, {report.channels_created} channels created ...")
        sys.stderr.flush()

    with _open_import(path, args.max_bytes) as stream:  # a CLI run: reading the file on the loop is fine
        report = await Importer(ctx.store, dry_run=args.dry_run).run(parse(stream), progress)
    sys.stderr.write("\r" + " " * 70 + "\r")
    summary: dict[str, Any] = {k: getattr(report, k) for k in ("entries", "channels_created", "sources_added")}
    summary |= {"unchanged": report.unchanged, "problems": len(report.problems)}
    after = {"file": path.name, "dry_run": args.dry_run, **summary}  # what the panel's import records
    await ctx.audit.record(None, "channel.import", "channel", None, after=after)
    _emit(args, [summary], list(summary))
    for problem in report.problems[:50]:
        sys.stderr.write(f"{path}:{problem.line}: {problem.message}\n")
    if len(report.problems) > 50:
        sys.stderr.write(f"... and {len(report.problems) - 50} more problems\n")
    if report.problems:
        args.exit_code = 1


# -- sources -----------------------------------------------------------------------------------------------------


async def _add_source(args: argparse.Namespace, ctx: _Context) -> None:
    item = source_input(args.url, user_agent=args.user_agent or "", enabled=not args.disabled)
    if args.label is not None or args.reconnect:
        item = dataclasses.replace(item, label=item.label if args.label is None else args.label,
                                   reconnect=args.reconnect)  # fmt: skip
    record = await ctx.store.add_source(args.id, item, args.position)
    await ctx.audit.record(None, "source.create", "source", record.id, after=source_view(record))
    _emit(args, [source_view(record)], SOURCE_COLUMNS)


async def _change_source(args: argparse.Namespace, ctx: _Context) -> None:
    before = await ctx.store.get_source(args.source_id)
    if args.action == "remove-source":
        await ctx.store.remove_source(before.id)
        await ctx.audit.record(None, "source.delete", "source", before.id, before=source_view(before))
        _print(f"source {before.id} removed from channel {before.channel_id}")
        return
    if args.action == "move-source":
        await ctx.store.move_source(before.id, args.position)
    else:
        await ctx.store.set_source_enabled(before.id, args.action == "enable-source")
    after = await ctx.store.get_source(before.id)
    await ctx.audit.record(
        None, "source.update", "source", before.id, before=source_view(before), after=source_view(after)
    )
    _emit(args, [source_view(s) for s in await ctx.store.list_sources(before.channel_id)], SOURCE_COLUMNS)


ACTIONS = {
    "list": _list, "add": _add, "show": _show, "update": _update, "delete": _delete, "import-m3u": _import,
    "add-source": _add_source, "remove-source": _change_source, "move-source": _change_source,
    "enable-source": _change_source, "disable-source": _change_source,
}  # fmt: skip


# -- parser ------------------------------------------------------------------------------------------------------


def _channel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tvg-id", help="the channel's id in the EPG")
    parser.add_argument("--logo", help="http(s) URL of its logo")
    parser.add_argument("--category", help="name of a live category (see headend category list)")


def _update_parser(actions: Subparsers) -> None:
    update = add_action(actions, "update", "change a channel (only the options given)")
    update.add_argument("id", type=int)
    update.add_argument("--name")
    update.add_argument("--number", type=int, help="the channel number (0: none)")
    _channel_options(update)  # --category "": no category; --logo "": no logo
    update.add_argument("--profile", help="profile name (see headend profile list)")
    mode = update.add_mutually_exclusive_group()
    mode.add_argument("--on-demand", dest="on_demand", action="store_const", const=True, help="run while watched")
    mode.add_argument("--always-on", dest="on_demand", action="store_const", const=False, help="run all the time")
    state = update.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)


def _source_parsers(actions: Subparsers) -> None:
    src = add_action(actions, "add-source", "add a source to a channel (last, or at --position)")
    src.add_argument("id", type=int, help="the channel's id")
    src.add_argument("url", help="source URL or absolute path; testpattern:LABEL")
    src.add_argument("--position", type=int, help="0 = primary (default: last)")
    src.add_argument("--user-agent", help="User-Agent sent to an http(s) source")
    src.add_argument("--label", help="a name for it in listings")
    src.add_argument("--reconnect", action="store_true", help="let ffmpeg reconnect a dropped http(s) source")
    src.add_argument("--disabled", action="store_true", help="add it disabled")
    add_action(actions, "remove-source", "remove a source (the ones after it move up)", json=False).add_argument(
        "source_id", type=int
    )
    move = add_action(actions, "move-source", "move a source in the failover order")
    move.add_argument("source_id", type=int)
    move.add_argument("position", type=int, help="0 = primary; past the end: last")
    add_action(actions, "enable-source", "enable a source").add_argument("source_id", type=int)
    add_action(actions, "disable-source", "disable a source (it keeps its place)").add_argument("source_id", type=int)


def add_parsers(sub: Subparsers) -> None:
    """Register ``channel`` and its actions on the ``headend`` parser."""
    ch = sub.add_parser("channel", help="manage channels and their sources")
    ch.set_defaults(func=cmd_channel)
    actions = ch.add_subparsers(dest="action", required=True)
    add_action(actions, "list", "list channels").add_argument("--search", help="part of the name or EPG id")
    add = add_action(actions, "add", "create a channel")
    add.add_argument("name")
    add.add_argument("--number", type=int)
    _channel_options(add)
    add.add_argument("--profile", default="remux")
    add.add_argument("--always-on", action="store_true")
    add.add_argument("--disabled", action="store_true", help="create it disabled")
    add.add_argument("--source", action="append", help="source URL, in failover order (repeatable); testpattern:LABEL")
    add_action(actions, "show", "show a channel and its sources").add_argument("id", type=int)
    _update_parser(actions)
    add_action(actions, "delete", "delete a channel and its sources", json=False).add_argument("id", type=int)
    imp = add_action(actions, "import-m3u", "import an M3U of sources: one channel per name, repeats become backups")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate every entry, write nothing")
    imp.add_argument("--max-bytes", type=int, default=200 * 1024 * 1024, help="refuse larger files (default 200 MiB)")
    _source_parsers(actions)


__all__ = ["add_parsers", "channel_view", "cmd_channel", "source_view"]
