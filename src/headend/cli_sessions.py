"""``headend session …`` and ``headend status``: the running server's live state, through its REST API.

Live viewer sessions and channel states exist only in the running server's memory, so these commands ask
the server over HTTP (``GET /api/v1/sessions``, ``DELETE /api/v1/sessions/{id}``, ``GET /api/v1/status``):

* ``--server URL``: default ``http://{http.host}:{http.port}`` from the settings (a wildcard host such as
  0.0.0.0 means this machine);
* the API token: ``HEADEND_API_TOKEN``, or with ``--token-stdin`` the first line of stdin (prompted for on a
  terminal) — never a command-line argument, which any user could read in ``ps``.

The server checks the token's role (a reseller's token sees and ends only its own lines' sessions) and
writes the audit entry of every session it ends (``session.end``, actor the token's account), as for any
API client. A server that does not answer, or refuses the token, ends the command with one line on stderr.
Proxy variables are ignored: the request goes straight to the server.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx
import orjson

from headend.cli import Subparsers, _emit, _print
from headend.errors import AuthFailed, ConfigError, Forbidden, HeadendError, NotFound
from headend.settings import Settings

TOKEN_ENV: Final = "HEADEND_API_TOKEN"
TIMEOUT_S: Final = 15.0
PAGE: Final = 500  # the REST API's largest page
SESSION_COLUMNS = ["id", "line", "channel_id", "kind", "device", "duration_s", "idle_s"]
STATUS_COLUMNS = ["id", "name", "state", "viewers", "bitrate_bps", "active_source"]
_WILDCARDS: Final = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def default_server(settings: Settings) -> str:
    """``http://host:port`` of the server these settings describe (a wildcard address: this machine)."""
    host = _WILDCARDS.get(settings.http.host, settings.http.host)
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a host name
    return f"http://{host}:{settings.http.port}"


class Api:
    """A small synchronous client of the REST API that turns every failure into a one-line Headend error."""

    def __init__(self, server: str, token: str) -> None:
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--server must be an http(s) URL, not {server[:80]!r}")
        self.server = server.rstrip("/")
        self._client = httpx.Client(
            base_url=self.server, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._send("GET", path, params).json()

    def delete(self, path: str) -> None:
        self._send("DELETE", path, None)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list."""
        offset = 0
        while True:
            page = self.get(path, (params or {}) | {"limit": PAGE, "offset": offset})
            yield from page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return

    def _send(self, method: str, path: str, params: dict[str, Any] | None) -> httpx.Response:
        try:
            response = self._client.request(method, path, params=params)
        except httpx.ConnectError:
            raise HeadendError(f"no Headend server answers at {self.server} (is it running? see --server)") from None
        except httpx.TimeoutException:
            raise HeadendError(f"the server at {self.server} did not answer within {TIMEOUT_S:.0f} s") from None
        except httpx.HTTPError as exc:
            raise HeadendError(f"cannot talk to {self.server}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise _error(response)
        return response


def _error(response: httpx.Response) -> HeadendError:
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.reason_phrase or "error"
    status = response.status_code
    if status == 401:
        return AuthFailed(f"the server refused the API token ({TOKEN_ENV} or --token-stdin)")
    if status == 403:
        return Forbidden(f"the token's account may not do this: {message}")
    if status == 404:
        return NotFound(message)
    return HeadendError(f"the server answered {status}: {message}")


def _token(args: argparse.Namespace) -> str:
    if args.token_stdin:
        token = getpass.getpass("API token: ") if sys.stdin.isatty() else sys.stdin.readline()
    else:
        token = args.env.get(TOKEN_ENV, "")
    token = token.strip()
    if not token:
        raise ConfigError(f"no API token: set {TOKEN_ENV} or give one on stdin with --token-stdin")
    if not (token.isascii() and token.isprintable()):
        raise ConfigError("the API token must be printable ASCII")
    return token


def _api(args: argparse.Namespace, settings: Settings) -> Api:
    return Api(args.server or default_server(settings), _token(args))


# -- sessions ----------------------------------------------------------------------------------------------------


def line_id(api: Api, username: str) -> int:
    """The id of the line named exactly ``username`` (among those the token may see)."""
    for line in api.pages("/api/v1/lines", {"q": username}):
        if line["username"] == username:
            return int(line["id"])
    raise NotFound(f"no line named {username[:80]!r}")


def _sessions(api: Api, username: str | None) -> list[dict[str, Any]]:
    params = {} if username is None else {"line_id": line_id(api, username)}
    return list(api.pages("/api/v1/sessions", params))


def _usernames(api: Api, ids: set[int]) -> dict[int, str]:
    found = {}
    for id_ in sorted(ids):
        try:
            found[id_] = str(api.get(f"/api/v1/lines/{id_}")["username"])
        except NotFound:  # deleted meanwhile
            continue
    return found


def _session_list(args: argparse.Namespace, api: Api) -> None:
    sessions = _sessions(api, args.line)
    names = _usernames(api, {int(s["line_id"]) for s in sessions})
    _emit(args, [s | {"line": names.get(s["line_id"], str(s["line_id"]))} for s in sessions], SESSION_COLUMNS)


def _session_end(args: argparse.Namespace, api: Api) -> None:
    if (args.session_id is None) == (args.line is None):
        raise ConfigError("give a SESSION_ID or --line USERNAME")
    if args.session_id is not None:
        api.delete(f"/api/v1/sessions/{quote(args.session_id, safe='')}")
        _print(f"session {args.session_id} ended")
        return
    ended = 0
    for session in _sessions(api, args.line):
        try:
            api.delete(f"/api/v1/sessions/{quote(str(session['id']), safe='')}")
            ended += 1
        except NotFound:  # it ended meanwhile
            continue
    _print(f"{ended} session(s) of line {args.line} ended")


def cmd_session(args: argparse.Namespace, settings: Settings) -> int:
    api = _api(args, settings)
    try:
        (_session_list if args.action == "list" else _session_end)(args, api)
    finally:
        api.close()
    return 0


# -- status ------------------------------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    api = _api(args, settings)
    try:
        status = api.get("/api/v1/status")
    finally:
        api.close()
    if args.json:
        _print(_json(status))
        return 0
    totals = status["totals"]
    _print(
        f"headend {status['version']}, up {status['uptime_s']:.0f} s: {totals['channels_running']} channel(s) "
        f"running, {totals['viewers']} viewer(s), in {totals['bandwidth_in_bps']} bit/s, "
        f"out ~{totals['bandwidth_out_bps']} bit/s"
    )
    _emit(args, status["channels"], STATUS_COLUMNS)
    return 0


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


# -- parsers -----------------------------------------------------------------------------------------------------


def _connection(parser: argparse.ArgumentParser, *, json: bool = True) -> None:
    parser.add_argument("--server", metavar="URL", help="the server's base URL (default: from http.host/http.port)")
    parser.add_argument(
        "--token-stdin", action="store_true", help=f"read the API token from stdin (default: ${TOKEN_ENV})"
    )
    if json:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_parsers(sub: Subparsers) -> None:
    """Register ``session`` and ``status`` on the ``headend`` parser."""
    session = sub.add_parser("session", help="live viewer sessions of the running server (via its REST API)")
    session.set_defaults(func=cmd_session)
    actions = session.add_subparsers(dest="action", required=True)
    lst = actions.add_parser("list", help="list live sessions")
    lst.add_argument("--line", metavar="USERNAME", help="only this line's sessions")
    _connection(lst)
    end = actions.add_parser("end", help="end a session (or every session of a line): the stream closes at once")
    end.add_argument("session_id", nargs="?", metavar="SESSION_ID")
    end.add_argument("--line", metavar="USERNAME", help="end every session of this line")
    _connection(end, json=False)
    status = sub.add_parser("status", help="what the running server is doing: channels, viewers, bandwidth")
    status.set_defaults(func=cmd_status)
    _connection(status)


__all__ = ["Api", "add_parsers", "cmd_session", "cmd_status", "default_server", "line_id"]
