"""The one exception tree of Headend.

Every error the application raises on purpose derives from :class:`HeadendError`. The HTTP layer maps
these classes to responses in exactly one place (``headend.http.errors``); nobody else catches them to
log and continue.

    HeadendError
    ├── ConfigError            bad settings or command-line input (exit code 2, never a traceback)
    ├── ValidationError        a value that breaks a rule (HTTP 400 / 422)
    ├── NotFound               no such object (HTTP 404)
    ├── Conflict               the object exists already or is in use (HTTP 409)
    ├── AuthFailed             unknown user or wrong password: one answer for both (HTTP 401)
    ├── Forbidden              authenticated, not allowed (HTTP 403)
    │   └── LineInactive       the subscriber line is expired, disabled or banned (``status`` says which)
    ├── NotAcceptable          the requested output format is not allowed for this line (HTTP 406)
    ├── TooManyConnections     a line is at its connection limit (HTTP 403 on streams)
    ├── TooManyRequests        too many attempts from one client: retry after ``retry_after`` s (HTTP 429)
    ├── ChannelUnavailable     the channel is not producing media (HTTP 503)
    ├── IngestError            ffmpeg could not be started or configured
    │   └── FfmpegNotFound     no usable ffmpeg binary
    └── DatabaseError          the database is unreachable or not migrated
"""

from __future__ import annotations


class HeadendError(Exception):
    """Root of every error Headend raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(HeadendError):
    """Invalid settings, config file or command-line input."""


class ValidationError(HeadendError):
    """A value breaks a rule; ``field`` names it when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(HeadendError):
    """The requested object does not exist."""


class Conflict(HeadendError):
    """The object exists already, or is referenced and cannot be removed."""


class AuthFailed(HeadendError):
    """Unknown user or wrong password. Deliberately the same error for both."""


class Forbidden(HeadendError):
    """Authenticated but not allowed to do this."""


class LineInactive(Forbidden):
    """The line exists and the password is right, but it may not watch: ``status`` is Expired, Disabled or Banned."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


class NotAcceptable(HeadendError):
    """The client asked for an output format (``ts``, ``m3u8``) its line may not use."""


class TooManyConnections(HeadendError):
    """The subscriber is at its connection limit."""


class TooManyRequests(HeadendError):
    """Too many attempts (e.g. failed logins) from one client; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChannelUnavailable(HeadendError):
    """The channel is not producing media right now (starting failed, all sources down)."""


class IngestError(HeadendError):
    """An ingest process could not be built or started."""


class FfmpegNotFound(IngestError):
    """No usable ffmpeg binary was found."""


class DatabaseError(HeadendError):
    """The database is unreachable, or its schema is not at the expected revision."""
