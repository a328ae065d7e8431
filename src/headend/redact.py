"""Hide credentials in text before it reaches a log, a status page or an error message.

Promises:

* ``user:pass@`` in any URL becomes ``***@`` (scheme and host stay readable);
* values of query parameters whose name contains password, passwd, pass, pwd, token, key, secret,
  auth, signature, sig or user become ``***``;
* Xtream-style paths ``/live|movie|series|timeshift/USER/PASS/`` become ``/live/***/***/``;
* literal secrets registered with :meth:`Redactor.add_secret` (e.g. subscriber passwords) become ``***``.

Redaction errs on the side of hiding too much. Every pattern is compiled once at import time.
:class:`RedactingFilter` applies :func:`redact` to every log record that passes through a handler.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote

MASK = "***"
MIN_SECRET_LEN = 4
"""Shorter literal secrets are ignored: masking every "abc" in every log line would hide too much."""

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s@]+(?:@[^/\s@]+)*@")
_PARAM_NAMES = r"pass|pwd|token|key|secret|auth|sig|user"  # "pass" covers password/passwd, "sig" signature
_QUERY = re.compile(
    rf"(?P<name>(?:^|(?<=[?&;\s]))[\w.\-]{{0,64}}(?:{_PARAM_NAMES})[\w.\-]{{0,64}}=)[^&\s#'\"]*",  # bounded: no blow-up
    re.IGNORECASE,
)
_XTREAM = re.compile(r"/(?P<kind>live|movie|series|timeshift)/[^/\s?#]+/[^/\s?#]+/", re.IGNORECASE)


class Redactor:
    """Structural redaction plus a set of literal secrets. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add_secret(self, secret: str) -> None:
        """Mask ``secret`` (and its URL-encoded form) wherever it appears from now on."""
        if len(secret) < MIN_SECRET_LEN:
            return
        with self._lock:
            found = set(self._secrets) | {secret, quote(secret, safe="")}
            # Longest first, so a secret that contains another one is masked whole.
            self._secrets = tuple(sorted(found, key=len, reverse=True))

    def discard_secret(self, secret: str) -> None:
        """Stop masking ``secret`` (e.g. after a subscriber's password changed)."""
        with self._lock:
            gone = {secret, quote(secret, safe="")}
            self._secrets = tuple(s for s in self._secrets if s not in gone)

    def redact(self, text: str) -> str:
        """Return ``text`` with every credential this redactor knows about replaced by ``***``."""
        if "://" in text:
            text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
        if "=" in text:
            text = _QUERY.sub(rf"\g<name>{MASK}", text)
        if "/" in text:
            text = _XTREAM.sub(rf"/\g<kind>/{MASK}/{MASK}/", text)
        for secret in self._secrets:  # a substring test per secret is cheaper than one huge alternation
            if secret in text:
                text = text.replace(secret, MASK)
        return text


default_redactor = Redactor()


def redact(text: str) -> str:
    """Redact ``text`` with the process-wide :data:`default_redactor`."""
    return default_redactor.redact(text)


def add_secret(secret: str) -> None:
    """Register a literal secret with the process-wide :data:`default_redactor`."""
    default_redactor.add_secret(secret)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message and any exception text of each record.

    Attach it to handlers (not loggers) so records from every logger pass through it.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor or default_redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-args: logging reports that itself; still hide what we can
            message = str(record.msg)
        record.msg = self._redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


__all__ = ["MASK", "RedactingFilter", "Redactor", "add_secret", "default_redactor", "redact"]
