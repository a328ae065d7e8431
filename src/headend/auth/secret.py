"""The server secret: the key of password hashes and signed segment URLs.

Invariant: every process of one installation (server, CLI, demo) uses the same secret, and it never
changes by itself. It is ``security.secret_key`` when set, else ``<data_dir>/secret.key``: 32 random bytes
in hex, created once, atomically (written to a private temporary file, then hard-linked into place, so two
processes starting at once agree on one key) and readable by the owner only. Losing or changing it
invalidates every subscriber password: back it up with the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Final

from headend.errors import ConfigError
from headend.settings import Settings

logger = logging.getLogger(__name__)

SECRET_FILE: Final = "secret.key"
SECRET_BYTES: Final = 32
MIN_SECRET_KEY_LEN: Final = 16


def load_secret(settings: Settings) -> bytes:
    """The configured secret key, or the one in ``<data_dir>/secret.key`` (created on first use)."""
    configured = settings.security.secret_key
    if configured:
        if len(configured) < MIN_SECRET_KEY_LEN:
            raise ConfigError(f"security.secret_key must be at least {MIN_SECRET_KEY_LEN} characters")
        return configured.encode("utf-8")
    return _file_secret(settings.paths.data_dir / SECRET_FILE)


def _file_secret(path: Path) -> bytes:
    if not path.exists():
        _create(path)
    try:
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read the secret key in {path}: {exc}") from None
    if len(secret) < SECRET_BYTES:
        raise ConfigError(f"the secret key in {path} is too short ({len(secret)} bytes, expected {SECRET_BYTES})")
    if path.stat().st_mode & 0o077:
        logger.warning("%s is readable by other users: chmod 600 it", path)
    return secret


def _create(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place unless another process won."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(SECRET_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the secret key {path}: {exc}") from None
    logger.info("created a new secret key in %s", path)


__all__ = ["SECRET_FILE", "load_secret"]
