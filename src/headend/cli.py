"""The ``headend`` command: serve, demo, database, channel and subscriber administration.

Settings are loaded once here (``--config``, then ``HEADEND_*`` variables) and passed down. Errors Headend
raises on purpose end the command with a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from headend import __version__
from headend import settings as settings_mod
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.records import ChannelInput, SourceInput, SourceRecord
from headend.errors import ConfigError, HeadendError
from headend.ingest.ffmpeg import locate_ffmpeg
from headend.ingest.sources import parse_source
from headend.logs import setup_logging
from headend.redact import redact
from headend.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _emit(args: argparse.Namespace, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if getattr(args, "json", False):
        _print(orjson.dumps(rows, default=str, option=orjson.OPT_INDENT_2).decode())
    else:
        _print(_table(rows, columns))


def source_input(text: str) -> SourceInput:
    """A SourceInput from what an operator typed: URL, absolute path or ``testpattern:LABEL``."""
    spec = parse_source(text)
    return SourceInput(kind=spec.kind, url=spec.url, label=spec.label)


def _source_row(record: SourceRecord) -> dict[str, Any]:
    return {"id": record.id, "position": record.position, "kind": record.spec.kind.value,
            "url": redact(record.spec.url), "enabled": record.enabled}  # fmt: skip


async def _with_store(settings: Settings, work: Callable[[ChannelStore], Awaitable[int]]) -> int:
    db = Database(settings.database_url, echo=settings.db.echo)
    await db.start()
    try:
        await (db.migrate() if settings.db.auto_migrate else db.check_schema())
        return await work(ChannelStore(db))
    finally:
        await db.aclose()


# -- commands ------------------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from headend.runtime import run

    run(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from headend.demo import run_demo

    return run_demo(settings, explicit_data_dir=args.config is not None or "HEADEND_PATHS_DATA_DIR" in args.env)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        db = Database(settings.database_url)
        await db.start()
        try:
            if args.action == "upgrade":
                await db.migrate()
            _print(f"database revision: {await db.current_revision()}")
        finally:
            await db.aclose()
        return 0

    return asyncio.run(work())


def cmd_channel(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_with_store(settings, lambda store: _channel_action(args, store)))


async def _channel_action(args: argparse.Namespace, store: ChannelStore) -> int:
    actions = {
        "list": _channel_list, "add": _channel_add, "show": _channel_show,
        "add-source": _channel_add_source, "delete": _channel_delete, "import-m3u": _channel_import,
    }  # fmt: skip
    await actions[args.action](args, store)
    return int(getattr(args, "exit_code", 0))


async def _channel_list(args: argparse.Namespace, store: ChannelStore) -> None:
    rows = [asdict(c) for c in await store.list_channels()]
    _emit(args, rows, ["id", "number", "name", "on_demand", "enabled", "tvg_id"])


async def _channel_add(args: argparse.Namespace, store: ChannelStore) -> None:
    inputs = [source_input(url) for url in args.source or []]  # validate all before writing anything
    profile = await store.get_profile_by_name(args.profile)
    channel = await store.create_channel(
        ChannelInput(name=args.name, number=args.number, tvg_id=args.tvg_id or "", logo_url=args.logo or "",
                     on_demand=not args.always_on, profile_id=profile.id)
    )  # fmt: skip
    for item in inputs:
        await store.add_source(channel.id, item)
    _emit(args, [asdict(channel)], ["id", "number", "name", "on_demand"])


async def _channel_show(args: argparse.Namespace, store: ChannelStore) -> None:
    channel = await store.get_channel(args.id)
    _emit(args, [asdict(channel)], ["id", "number", "name", "on_demand", "enabled", "tvg_id"])
    _print("")
    _emit(
        args, [_source_row(s) for s in await store.list_sources(args.id)], ["id", "position", "kind", "url", "enabled"]
    )


async def _channel_add_source(args: argparse.Namespace, store: ChannelStore) -> None:
    record = await store.add_source(args.id, source_input(args.url))
    _emit(args, [_source_row(record)], ["id", "position", "kind", "url"])


def _open_import(path: Path, max_bytes: int) -> BinaryIO:
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ConfigError(f"{path} is {size} bytes, more than --max-bytes {max_bytes}")
    return path.open("rb")


async def _channel_import(args: argparse.Namespace, store: ChannelStore) -> None:
    from headend.importing import Importer, ImportReport
    from headend.playlists.m3u_parse import parse

    path: Path = args.file

    def progress(report: ImportReport) -> None:
        sys.stderr.write(f"\r  {report.entries} entries read, {report.channels_created} channels created ...")
        sys.stderr.flush()

    with _open_import(path, args.max_bytes) as stream:  # a CLI run: reading the file on the loop is fine
        report = await Importer(store, dry_run=args.dry_run).run(parse(stream), progress)
    sys.stderr.write("\r" + " " * 70 + "\r")
    summary = {k: getattr(report, k) for k in ("entries", "channels_created", "sources_added", "unchanged")}
    summary["problems"] = len(report.problems)
    _emit(args, [summary], list(summary))
    for problem in report.problems[:50]:
        sys.stderr.write(f"{path}:{problem.line}: {problem.message}\n")
    if len(report.problems) > 50:
        sys.stderr.write(f"... and {len(report.problems) - 50} more problems\n")
    if report.problems:
        args.exit_code = 1


async def _channel_delete(args: argparse.Namespace, store: ChannelStore) -> None:
    await store.delete_channel(args.id)
    _print(f"channel {args.id} deleted")


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        sys.stdout.write(settings_mod.render_markdown())
        return 0
    rows = []
    for info in settings_mod.SETTINGS:
        section, name = info.key.split(".")
        value = getattr(getattr(settings, section), name)
        if ("token" in name or "secret" in name) and value:
            value = "***"
        rows.append({"key": info.key, "value": value, "env": info.env})
    _emit(args, rows, ["key", "value", "env"])
    return 0


def cmd_check_ffmpeg(args: argparse.Namespace, settings: Settings) -> int:
    _print(locate_ffmpeg(settings.ingest.ffmpeg))
    return 0


# -- parser --------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="headend", description="Headend: an open IPTV platform.")
    parser.add_argument("--version", action="version", version=f"headend {__version__}")
    parser.add_argument("--config", type=Path, help="TOML settings file (see docs/settings.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="create synthetic channels and run the server on embedded defaults")
    demo.add_argument("--port", type=int)
    demo.set_defaults(func=cmd_demo)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)
    _channel_parser(sub)
    from headend.cli_subscribers import add_parsers  # here: cli_subscribers imports this module's helpers

    add_parsers(sub)
    from headend.cli_admin import add_parsers as add_admin_parsers

    add_admin_parsers(sub)
    from headend.cli_epg import add_parsers as add_epg_parsers

    add_epg_parsers(sub)
    st = sub.add_parser("settings", help="show the effective settings")
    st.add_argument("--markdown", action="store_true", help="print the settings reference (docs/settings.md)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_settings)
    sub.add_parser("check-ffmpeg", help="print the ffmpeg that would be used").set_defaults(func=cmd_check_ffmpeg)
    return parser


def _channel_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ch = sub.add_parser("channel", help="manage channels")
    ch.set_defaults(func=cmd_channel)
    actions = ch.add_subparsers(dest="action", required=True)
    lst = actions.add_parser("list")
    lst.add_argument("--json", action="store_true")
    add = actions.add_parser("add")
    add.add_argument("name")
    add.add_argument("--number", type=int)
    add.add_argument("--tvg-id")
    add.add_argument("--logo")
    add.add_argument("--profile", default="remux")
    add.add_argument("--always-on", action="store_true")
    add.add_argument("--source", action="append", help="source URL, in failover order (repeatable); testpattern:LABEL")
    add.add_argument("--json", action="store_true")
    show = actions.add_parser("show")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    src = actions.add_parser("add-source")
    src.add_argument("id", type=int)
    src.add_argument("url")
    src.add_argument("--json", action="store_true")
    delete = actions.add_parser("delete")
    delete.add_argument("id", type=int)
    imp = actions.add_parser(
        "import-m3u", help="import an M3U of sources: one channel per name, repeats become backups"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate every entry, write nothing")
    imp.add_argument("--max-bytes", type=int, default=200 * 1024 * 1024, help="refuse larger files (default 200 MiB)")
    imp.add_argument("--json", action="store_true")


def _cli_overrides(args: argparse.Namespace, settings: Settings) -> Settings:
    http: dict[str, Any] = {}
    if getattr(args, "host", None):
        http["host"] = args.host
    if getattr(args, "port", None) is not None:
        http["port"] = args.port
    return settings_mod.replace(settings, http=http) if http else settings


def main(argv: Sequence[str] | None = None) -> None:
    import os

    parser = build_parser()
    args = parser.parse_args(argv)
    args.env = dict(os.environ)
    try:
        settings = _cli_overrides(args, settings_mod.load(config_file=args.config, env=args.env))
        setup_logging(settings.log, quiet=args.command not in ("serve", "demo"))
        code = args.func(args, settings)
    except ConfigError as exc:
        sys.stderr.write(f"headend: configuration error: {exc.message}\n")
        code = 2
    except HeadendError as exc:
        sys.stderr.write(f"headend: {exc.message}\n")
        code = 1
    except KeyboardInterrupt:
        code = 130
    logging.shutdown()
    sys.exit(code)
