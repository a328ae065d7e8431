"""The panel's route table: every page under /admin, each a :class:`~headend.web.routing.PanelRoute` with its policy.

``headend.app`` puts :func:`web_routes` into the control plane's table. The catch-all 404 page comes last.
"""

from __future__ import annotations

from headend.http.control import PolicyRoute
from headend.web.accounts import account_routes
from headend.web.bouquets import bouquet_routes
from headend.web.channels import channel_routes
from headend.web.dashboard import dashboard_routes
from headend.web.epg_views import epg_routes
from headend.web.imports import import_routes
from headend.web.line_actions import line_action_routes
from headend.web.lines import line_routes
from headend.web.login_views import login_routes
from headend.web.packages import package_routes
from headend.web.routing import routing_routes
from headend.web.sessions_views import session_routes
from headend.web.sources import source_routes
from headend.web.tokens_audit import token_audit_routes


def web_routes() -> list[PolicyRoute]:
    return [
        *login_routes(),
        *dashboard_routes(),
        *channel_routes(),
        *source_routes(),
        *bouquet_routes(),
        *package_routes(),
        *line_routes(),
        *line_action_routes(),
        *session_routes(),
        *epg_routes(),
        *import_routes(),
        *account_routes(),
        *token_audit_routes(),
        *routing_routes(),
    ]


__all__ = ["web_routes"]
