"""The ``headend`` command: serve, demo, database, and the administration commands of ``headend.cli_*``.

Settings are loaded once here (``--config``, then ``HEADEND_*`` variables) and passed down. Errors Headend
raises on purpose end the command with a one-line message and a non-zero exit code, never a traceback.

Every administration command works through the same service layer as the web panel and the REST API
(the catalog stores, ``Resellers``, ``AuditLog``), and every change it makes is written to the audit log
with actor ``cli`` under the action name the REST API uses for the same change. Commands about live state
(``headend session …``) ask the running server over its REST API instead (``headend.cli_sessions``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, TypeAlias

import orjson

from headend import __version__
from headend import settings as settings_mod
from headend.catalog.db import Database
from headend.catalog.records import SourceInput
from headend.errors import ConfigError, HeadendError
from headend.ingest.ffmpeg import locate_ffmpeg
from headend.ingest.sources import parse_source
from headend.logs import setup_logging
from headend.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]

CLI_ENV: Final = frozenset({"HEADEND_API_TOKEN"})
"""Environment variables of the command line itself, not settings (``settings.load`` refuses unknown ones)."""


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


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_action(
    actions: Subparsers, name: str, help: str, *, key: str | None = None, json: bool = True
) -> argparse.ArgumentParser:
    """A subcommand of a ``headend <noun>`` command: its positional ``key`` (if any) and ``--json``."""
    parser = actions.add_parser(name, help=help)
    if key is not None:
        parser.add_argument(key)
    if json:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _emit(args: argparse.Namespace, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if getattr(args, "json", False):
        _print(orjson.dumps(rows, default=str, option=orjson.OPT_INDENT_2).decode())
    else:
        _print(_table(rows, columns))


def source_input(text: str, *, user_agent: str = "", enabled: bool = True) -> SourceInput:
    """A SourceInput from what an operator typed: URL, absolute path or ``testpattern:LABEL``."""
    spec = parse_source(text)
    return SourceInput(kind=spec.kind, url=spec.url, label=spec.label, user_agent=user_agent, enabled=enabled)


def snapshot(record: object, *, drop: Iterable[str] = ()) -> dict[str, object]:
    """A record (frozen dataclass) as a mapping for the audit log, without the fields in ``drop``.

    ``AuditLog.record`` masks secrets and redacts credentials in URLs."""
    assert dataclasses.is_dataclass(record)
    assert not isinstance(record, type)
    dropped = set(drop)
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name not in dropped}


def run_db(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    """Run ``work`` on a started (and migrated, or checked) database; its result is the exit code."""

    async def main() -> int:
        db = Database(settings.database_url, echo=settings.db.echo)
        await db.start()
        try:
            await (db.migrate() if settings.db.auto_migrate else db.check_schema())
            return await work(db)
        finally:
            await db.aclose()

    return asyncio.run(main())


def nothing_to_change(args: argparse.Namespace, names: Iterable[str]) -> None:
    """ConfigError when none of the options ``names`` was given (an update that would change nothing)."""
    if all(getattr(args, name, None) is None for name in names):
        raise ConfigError("nothing to change: give at least one option (see --help)")


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
    _command_parsers(sub)
    st = sub.add_parser("settings", help="show the effective settings")
    st.add_argument("--markdown", action="store_true", help="print the settings reference (docs/settings.md)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_settings)
    sub.add_parser("check-ffmpeg", help="print the ffmpeg that would be used").set_defaults(func=cmd_check_ffmpeg)
    return parser


def _command_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # imported here: the command modules import this module's helpers
    from headend import cli_admin, cli_catalog, cli_channels, cli_epg, cli_packages, cli_sessions, cli_subscribers

    for module in (cli_channels, cli_catalog, cli_subscribers, cli_packages, cli_sessions, cli_admin, cli_epg):
        module.add_parsers(sub)


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
        env = {k: v for k, v in args.env.items() if k not in CLI_ENV}
        settings = _cli_overrides(args, settings_mod.load(config_file=args.config, env=env))
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
