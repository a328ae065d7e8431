"""``headend epg``: guide sources, refreshes, channel mapping and a channel's programmes from the command line.

Sources are named; channels go by id. ``add-source --file`` copies the file into the managed directory
(``<data_dir>/epg``), so the source keeps working when the original moves. ``refresh`` imports now, with a
live progress line on stderr and a summary on stdout (exit code 1 when an import failed); the previous guide
stays whenever an import fails. A mapping (``epg map``) is used from the source's next refresh on. Lists are
tables, or JSON with ``--json``. Every change is audited with actor ``cli`` under the REST API's action names
(``epg_source.create``, ``epg_override.set``, …; locations redacted). Errors are Headend errors, which
``headend.cli.main`` turns into one line.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from headend.admin.audit import AuditLog
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind, EpgSourceRecord, ProgrammeRecord
from headend.cli import Subparsers, _emit, _print, add_action, nothing_to_change, run_db
from headend.epg.fetch import MIB, source_path, store_upload
from headend.epg.importer import EpgImporter, ImportProgress, ImportReport, utcnow
from headend.errors import ConfigError, HeadendError, ValidationError
from headend.redact import redact
from headend.settings import Settings

SOURCE_COLUMNS = ["id", "name", "kind", "location", "refresh_hours", "priority", "enabled", "last_status",
                  "last_import", "channels_matched", "programmes"]  # fmt: skip
REPORT_COLUMNS = ["source", "status", "guide_channels", "channels_matched", "programmes_read", "programmes_stored",
                  "skipped", "problems", "mib", "seconds"]  # fmt: skip
PROGRAMME_COLUMNS = ["start", "stop", "title", "episode", "sub_title", "categories"]
PROBLEMS_SHOWN = 50
HOURS_MAX = 24 * 31


@dataclass(frozen=True, slots=True)
class _Context:
    settings: Settings
    store: EpgStore
    channels: ChannelStore
    audit: AuditLog

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.subscribers.timezone)

    def local(self, when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "-" if when is None else when.astimezone(self.zone).strftime(fmt)


Action = Callable[[argparse.Namespace, _Context], Awaitable[None]]


def cmd_epg(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> int:
        await ACTIONS[args.action](args, _Context(settings, EpgStore(db), ChannelStore(db), AuditLog(db)))
        return int(getattr(args, "exit_code", 0))

    return run_db(settings, work)


# -- sources ---------------------------------------------------------------------------------------------------


def _source_row(ctx: _Context, source: EpgSourceRecord) -> dict[str, Any]:
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind.value,
        "location": redact(source.location),
        "refresh_hours": source.refresh_hours,
        "priority": source.priority,
        "enabled": source.enabled,
        "last_status": source.last_status or "never",
        "last_import": ctx.local(source.last_import_at),
        "last_success": ctx.local(source.last_success_at),
        "last_message": redact(source.last_message),
        "channels_matched": source.channels_matched,
        "programmes": source.programmes,
    }


def source_view(source: EpgSourceRecord) -> dict[str, object]:
    """A source's settings for the audit log, as the REST API records them (the location redacted)."""
    return {"name": source.name, "kind": source.kind.value, "location": redact(source.location),
            "refresh_hours": source.refresh_hours, "priority": source.priority, "enabled": source.enabled}  # fmt: skip


async def _add_source(args: argparse.Namespace, ctx: _Context) -> None:
    copied: str | None = None
    if args.file is not None:
        copied = store_upload(ctx.settings, args.file, args.file.name)
    kind, location = (EpgSourceKind.FILE, copied) if copied else (EpgSourceKind.URL, args.url)
    try:
        source = await ctx.store.create_source(
            EpgSourceInput(name=args.name, kind=kind, location=location, refresh_hours=args.refresh_hours,
                           priority=args.priority)
        )  # fmt: skip
    except BaseException:
        if copied:
            (ctx.settings.epg_dir / copied).unlink(missing_ok=True)
        raise
    await ctx.audit.record(None, "epg_source.create", "epg_source", source.id, after=source_view(source))
    _emit(args, [_source_row(ctx, source)], SOURCE_COLUMNS)
    sys.stderr.write(f"import it now with: headend epg refresh {shlex.quote(source.name)}\n")


async def _list(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [_source_row(ctx, s) for s in await ctx.store.list_sources()], SOURCE_COLUMNS)


async def _remove_source(args: argparse.Namespace, ctx: _Context) -> None:
    source = await ctx.store.get_source_by_name(args.name)
    await ctx.store.delete_source(source.id)
    await ctx.audit.record(None, "epg_source.delete", "epg_source", source.id, before=source_view(source))
    await _drop_unused_file(ctx, source)
    _print(f"EPG source {source.name} deleted")


async def _drop_unused_file(ctx: _Context, source: EpgSourceRecord) -> None:
    """Delete a file source's copy in the EPG directory once no source uses it any more."""
    if source.kind is EpgSourceKind.FILE and all(s.location != source.location for s in await ctx.store.list_sources()):
        with contextlib.suppress(HeadendError, OSError):
            source_path(ctx.settings, source.location).unlink()


async def _update_source(args: argparse.Namespace, ctx: _Context) -> None:
    nothing_to_change(args, ("new_name", "url", "file", "refresh_hours", "priority", "enabled"))
    before = await ctx.store.get_source_by_name(args.name)
    if (args.url is not None and before.kind is not EpgSourceKind.URL) or (
        args.file is not None and before.kind is not EpgSourceKind.FILE
    ):
        raise ValidationError(f"EPG source {before.name} is a {before.kind.value} source", field="location")
    copied = store_upload(ctx.settings, args.file, args.file.name) if args.file is not None else None
    try:
        source = await ctx.store.update_source(
            before.id, name=args.new_name, location=copied or args.url, refresh_hours=args.refresh_hours,
            priority=args.priority, enabled=args.enabled,
        )  # fmt: skip
    except BaseException:
        if copied:
            (ctx.settings.epg_dir / copied).unlink(missing_ok=True)
        raise
    if copied:  # a new name: the old copy goes once no source uses it
        await _drop_unused_file(ctx, before)
    await ctx.audit.record(
        None, "epg_source.update", "epg_source", source.id, before=source_view(before), after=source_view(source)
    )
    _emit(args, [_source_row(ctx, source)], SOURCE_COLUMNS)


# -- refresh ---------------------------------------------------------------------------------------------------


class _ProgressLine:
    """One self-overwriting line on stderr, at most ten updates a second."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._last = 0.0
        self._width = 0

    def __call__(self, progress: ImportProgress) -> None:
        now = time.monotonic()
        if progress.phase != "done" and now - self._last < 0.1:
            return
        self._last = now
        if progress.phase == "download":
            text = f"  {self._name}: downloading, {progress.bytes / MIB:.1f} MiB"
        else:
            text = (
                f"  {self._name}: {progress.bytes / MIB:.1f} MiB read, {progress.programmes_read} programmes read, "
                f"{progress.programmes_stored} stored"
            )
        self._width = max(self._width, len(text))
        sys.stderr.write("\r" + text.ljust(self._width))
        sys.stderr.flush()

    def clear(self) -> None:
        if self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
            sys.stderr.flush()


def _report_row(report: ImportReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "status": "ok" if report.ok else "failed",
        "message": report.message,
        "guide_channels": report.guide_channels,
        "channels_matched": report.channels_matched,
        "unmatched_channel_ids": list(report.unmatched_channel_ids),
        "programmes_read": report.programmes_read,
        "programmes_stored": report.programmes_stored,
        "skipped": report.skipped,
        "skipped_unmatched": report.skipped_unmatched,
        "skipped_window": report.skipped_window,
        "problems": report.problems_total,
        "problem_lines": [{"line": p.line, "message": p.message} for p in report.problems],
        "mib": round(report.bytes / MIB, 1),
        "seconds": round(report.seconds, 1),
    }


async def _sources_to_refresh(args: argparse.Namespace, ctx: _Context) -> list[EpgSourceRecord]:
    if args.all and args.names:
        raise ConfigError("give source names or --all, not both")
    if args.all:
        return [s for s in await ctx.store.list_sources() if s.enabled]
    if not args.names:
        raise ConfigError("name the sources to refresh, or use --all")
    return [await ctx.store.get_source_by_name(name) for name in args.names]  # all checked before any import


async def _refresh(args: argparse.Namespace, ctx: _Context) -> None:
    sources = await _sources_to_refresh(args, ctx)
    importer = EpgImporter(ctx.store, ctx.channels, ctx.settings)
    reports = []
    for source in sources:
        await ctx.audit.record(None, "epg_source.refresh", "epg_source", source.id)
        line = _ProgressLine(source.name)
        try:
            reports.append(await importer.run(source.id, line))
        finally:
            line.clear()
    _emit(args, [_report_row(r) for r in reports], REPORT_COLUMNS)
    for report in reports:
        _print_problems(report)
        if not report.ok:
            sys.stderr.write(f"headend: EPG source {report.source} failed: {redact(report.message)}\n")
            args.exit_code = 1


def _print_problems(report: ImportReport) -> None:
    for problem in report.problems[:PROBLEMS_SHOWN]:
        sys.stderr.write(f"{report.source}:{problem.line}: {problem.message}\n")
    hidden = report.problems_total - min(len(report.problems), PROBLEMS_SHOWN)
    if hidden > 0:
        sys.stderr.write(f"{report.source}: ... and {hidden} more problems\n")


# -- mapping and the guide -------------------------------------------------------------------------------------


async def _map(args: argparse.Namespace, ctx: _Context) -> None:
    if args.clear == (args.guide_id is not None):
        raise ConfigError("give either a GUIDE_ID or --clear")
    channel = await ctx.channels.get_channel(args.channel_id)
    if args.clear:
        before = next((o for o in await ctx.store.list_overrides() if o.channel_id == channel.id), None)
        await ctx.store.clear_override(channel.id)
        shown = None if before is None else asdict(before)
        await ctx.audit.record(None, "epg_override.clear", "channel", channel.id, before=shown)
        _print(f"channel {channel.id} ({channel.name}): mapping cleared")
    else:
        source = await ctx.store.get_source_by_name(args.source) if args.source else None
        override = await ctx.store.set_override(channel.id, args.guide_id, source.id if source else None)
        await ctx.audit.record(None, "epg_override.set", "channel", channel.id, after=asdict(override))
        row = {"channel_id": channel.id, "channel": channel.name, "guide_id": override.guide_id,
               "source": source.name if source else "any"}  # fmt: skip
        _emit(args, [row], list(row))
    sys.stderr.write("the mapping is used from the next refresh of the guide on (headend epg refresh --all)\n")


async def _mappings(args: argparse.Namespace, ctx: _Context) -> None:
    names = {s.id: s.name for s in await ctx.store.list_sources()}
    channels: dict[int, str] = {c.id: c.name for c in await ctx.channels.list_channels()}
    rows = [
        {"channel_id": o.channel_id, "channel": channels.get(o.channel_id, "?"), "guide_id": o.guide_id,
         "source": "any" if o.source_id is None else names.get(o.source_id, str(o.source_id))}
        for o in await ctx.store.list_overrides()
    ]  # fmt: skip
    _emit(args, rows, ["channel_id", "channel", "guide_id", "source"])


async def _unmatched(args: argparse.Namespace, ctx: _Context) -> None:
    ids = set(await ctx.store.unmatched_channel_ids())
    rows = [
        {"id": c.id, "number": c.number, "name": c.name, "tvg_id": c.tvg_id}
        for c in await ctx.channels.list_channels(enabled_only=True)
        if c.id in ids
    ]
    _emit(args, rows, ["id", "number", "name", "tvg_id"])


def _programme_row(ctx: _Context, programme: ProgrammeRecord) -> dict[str, Any]:
    return {
        "start": ctx.local(programme.start),
        "stop": ctx.local(programme.stop, "%H:%M"),
        "title": programme.title,
        "episode": programme.episode_num,
        "sub_title": programme.sub_title,
        "categories": ", ".join(programme.categories),
        "description": programme.description,
    }


async def _show(args: argparse.Namespace, ctx: _Context) -> None:
    if not 0 < args.hours <= HOURS_MAX:
        raise ValidationError(f"--hours must be between 1 and {HOURS_MAX}", field="hours")
    channel = await ctx.channels.get_channel(args.channel_id)
    now = utcnow()
    programmes = (await ctx.store.programmes([channel.id], now, now + timedelta(hours=args.hours)))[channel.id]
    if not args.json:
        _print(f"{channel.name} (channel {channel.id}), next {args.hours} h, times in {ctx.zone.key}:")
    _emit(args, [_programme_row(ctx, p) for p in programmes], PROGRAMME_COLUMNS)


ACTIONS: dict[str, Action] = {
    "add-source": _add_source, "list": _list, "refresh": _refresh, "map": _map, "unmatched": _unmatched,
    "show": _show, "remove-source": _remove_source, "update-source": _update_source, "mappings": _mappings,
}  # fmt: skip


# -- parser ----------------------------------------------------------------------------------------------------


def add_parsers(sub: Subparsers) -> None:
    """Register ``epg`` and its actions on the ``headend`` parser."""
    epg = sub.add_parser("epg", help="electronic programme guide: sources, refresh, channel mapping")
    epg.set_defaults(func=cmd_epg)
    actions = epg.add_subparsers(dest="action", required=True)
    add = add_action(actions, "add-source", "add an XMLTV source (a URL, or a file copied into the EPG directory)")
    add.add_argument("name")
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="http(s) URL of the XMLTV document (plain, .gz or .xz)")
    where.add_argument("--file", type=Path, help="XMLTV file to copy into <data_dir>/epg")
    add.add_argument("--refresh-hours", type=int, default=24, help="re-import every N hours (0: only on demand)")
    add.add_argument("--priority", type=int, default=100, help="lower wins when two sources carry a channel")
    add_action(actions, "list", "list sources with their last import")
    refresh = add_action(actions, "refresh", "import sources now (progress on stderr, summary on stdout)")
    refresh.add_argument("names", nargs="*", metavar="NAME")
    refresh.add_argument("--all", action="store_true", help="every enabled source")
    mapping = add_action(actions, "map", "map a channel to a guide channel id (or --clear the mapping)")
    mapping.add_argument("channel_id", type=int)
    mapping.add_argument("guide_id", nargs="?")
    mapping.add_argument("--source", help="only in this source (default: any source)")
    mapping.add_argument("--clear", action="store_true", help="remove the channel's mapping")
    add_action(actions, "mappings", "the channels mapped to a guide id by hand (epg map)")
    add_action(actions, "unmatched", "channels no guide covers")
    show = add_action(actions, "show", "a channel's programmes, in the operator timezone")
    show.add_argument("channel_id", type=int)
    show.add_argument("--hours", type=int, default=24, help="how far ahead (default 24)")
    add_action(actions, "remove-source", "delete a source and its programmes", json=False).add_argument("name")
    _update_source_parser(actions)


def _update_source_parser(actions: Subparsers) -> None:
    update = add_action(actions, "update-source", "change a source (only the options given)")
    update.add_argument("name")
    update.add_argument("--name", dest="new_name", metavar="NEW", help="rename the source")
    where = update.add_mutually_exclusive_group()
    where.add_argument("--url", help="a new URL (URL sources)")
    where.add_argument("--file", type=Path, help="a new XMLTV file to copy into <data_dir>/epg (file sources)")
    update.add_argument("--refresh-hours", type=int, help="re-import every N hours (0: only on demand)")
    update.add_argument("--priority", type=int, help="lower wins when two sources carry a channel")
    state = update.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False, help="no scheduled refresh")


__all__ = ["add_parsers", "cmd_epg"]
