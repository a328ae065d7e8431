"""Rendering panel pages: one Jinja2 environment (autoescape on), the security headers every page carries.

Pages hold no inline script or style: every script and stylesheet is a file under ``static/``, so the
Content-Security-Policy can forbid everything else. htmx is configured through a ``<meta>`` tag (no
indicator styles, no eval) and ``static/js/app.js`` adds the CSRF header to its requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from headend import __version__
from headend.admin.principal import Principal, Role
from headend.http.policy import Policy, roles_for
from headend.redact import redact

PACKAGE_DIR: Final = Path(__file__).parent
TEMPLATES_DIR: Final = PACKAGE_DIR / "templates"
STATIC_DIR: Final = PACKAGE_DIR / "static"
VENDOR_DIR: Final = STATIC_DIR / "vendor"
VENDOR_FILES: Final = ("htmx.min.js", "hls.min.js")
"""The browser libraries scripts/ensure-web-assets installs (gitignored, never committed)."""

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
    "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS: Final = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
"""Sent with every panel HTML response (pages, fragments, error pages)."""

NAV: Final = (
    ("Dashboard", "/admin", Policy.SUPPORT),
    ("Channels", "/admin/channels", Policy.SUPPORT),
    ("Categories", "/admin/categories", Policy.SUPPORT),
    ("Bouquets", "/admin/bouquets", Policy.SUPPORT),
    ("Packages", "/admin/packages", Policy.SUPPORT),
    ("Lines", "/admin/lines", Policy.ACCOUNT),
    ("Sessions", "/admin/sessions", Policy.SUPPORT),
    ("EPG", "/admin/epg", Policy.SUPPORT),
    ("Import", "/admin/import", Policy.OPERATOR),
    ("Resellers", "/admin/resellers", Policy.OPERATOR),
    ("Admins", "/admin/admins", Policy.ADMIN),
    ("Audit", "/admin/audit", Policy.ADMIN),
    ("API tokens", "/admin/tokens", Policy.ACCOUNT),
)


def allowed(principal: Principal | None, policy: Policy) -> bool:
    """True if ``principal`` holds a role ``policy`` admits (templates use it to hide what it may not do)."""
    roles = roles_for(policy)
    return principal is not None and roles is not None and principal.role in roles


def missing_vendor_files() -> list[str]:
    """The browser libraries that are not installed (the panel says so instead of failing)."""
    return [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]


def when(value: datetime | None) -> str:
    """A timestamp as the panel shows it (UTC, to the minute); "" for None."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(version=__version__, Policy=Policy, Role=Role, allowed=allowed)
    env.filters["when"] = when
    env.filters["redact"] = redact
    return env


ENV: Final = _environment()


def request_principal(request: Request) -> Principal | None:
    value = getattr(request.state, "principal", None)
    return value if isinstance(value, Principal) else None


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with the panel's common context and security headers."""
    principal = request_principal(request)
    common: dict[str, Any] = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal is not None else "",
        "nav": [(label, href) for label, href, policy in NAV if allowed(principal, policy)],
        "path": request.url.path,
        "missing_vendor": missing_vendor_files(),
        "errors": {},
    }
    body = ENV.get_template(template).render(common | dict(context or {}))
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


__all__ = [
    "CSP",
    "SECURITY_HEADERS",
    "STATIC_DIR",
    "VENDOR_FILES",
    "allowed",
    "missing_vendor_files",
    "render",
    "request_principal",
]
