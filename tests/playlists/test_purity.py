"""headend.playlists is pure: it imports only the standard library and itself (no I/O, no catalog, no web)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import headend.playlists

PACKAGE = Path(headend.playlists.__file__).parent
_IO_MODULES = {
    "asyncio",
    "socket",
    "subprocess",
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "sqlite3",
    "urllib.request",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_playlists_import_only_the_standard_library_and_themselves() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for module in _imports(path):
            top = module.split(".")[0]
            if top == "headend":
                assert module.startswith("headend.playlists"), f"{path.name} imports {module}"
            else:
                assert top in sys.stdlib_module_names, f"{path.name} imports third-party {module}"
                assert top not in _IO_MODULES, f"{path.name} imports {module} (I/O)"
