"""Fail when an import points the wrong way between Headend's layers.

Layers, outermost first: cli/app/http/delivery/api/web/rest -> admin/auth/epg/catalog/playlists -> hls -> relay
-> ingest.
The relay, hls and ingest packages import neither a web framework nor a database library.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "headend"

# package -> headend packages it must not import
FORBIDDEN: dict[str, set[str]] = {
    "playlists": {
        "catalog",
        "auth",
        "relay",
        "hls",
        "ingest",
        "http",
        "delivery",
        "api",
        "app",
        "cli",
        "services",
        "runtime",
    },
    "api": {"delivery", "app", "cli", "runtime", "demo", "web"},
    "rest": {"delivery", "app", "cli", "runtime", "demo", "web", "api"},
    "ingest": {"relay", "hls", "catalog", "http", "delivery", "app", "cli", "services", "auth", "api", "web"},
    "relay": {"hls", "catalog", "http", "delivery", "app", "cli", "services", "auth", "api", "web"},
    "hls": {"catalog", "http", "delivery", "app", "cli", "services", "auth", "api", "web"},
    "catalog": {"http", "delivery", "app", "cli", "services", "api", "web", "rest", "auth", "admin", "runtime", "demo"},
    "auth": {"http", "delivery", "app", "cli", "api", "web", "rest", "services", "runtime", "demo"},
    "admin": {"http", "delivery", "app", "cli", "api", "web", "rest", "services", "runtime", "demo", "relay", "hls"},
    "epg": {"http", "delivery", "app", "cli", "api", "web", "rest", "services", "runtime", "demo", "relay", "hls"},
}
# package -> third-party top-level modules it must not import
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "ingest": {"starlette", "uvicorn", "sqlalchemy", "alembic", "httptools"},
    "relay": {"starlette", "uvicorn", "sqlalchemy", "alembic", "httptools"},
    "hls": {"starlette", "uvicorn", "sqlalchemy", "alembic", "httptools"},
    "playlists": {"starlette", "uvicorn", "sqlalchemy", "alembic", "httptools", "asyncio"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
    return found


def main() -> int:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        package = path.relative_to(SRC).parts[0].removesuffix(".py")
        for lineno, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "headend" and len(parts) > 1 and parts[1] in FORBIDDEN.get(package, set()):
                problems.append(f"{path.relative_to(SRC.parent.parent)}:{lineno}: {package} must not import {module}")
            if parts[0] in FORBIDDEN_THIRD_PARTY.get(package, set()):
                problems.append(f"{path.relative_to(SRC.parent.parent)}:{lineno}: {package} must not import {module}")
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
