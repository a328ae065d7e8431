"""Who may call a route. Every route, native or ASGI, declares one of these; a test fails on any that doesn't.

The admin policies name the roles (:class:`headend.admin.principal.Role`) allowed in; the control plane
(``headend.http.control``) authenticates the caller (session cookie or API token, loopback included) and
refuses the others with 401 (no credentials) or 403 (wrong role). Resellers are further limited to their own
objects by the endpoints (another's object answers 404).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from headend.admin.principal import Role


class Policy(StrEnum):
    PUBLIC = "public"  # anyone: health checks, static assets, the login page
    TEST_ROUTES = (
        "test-routes"  # unauthenticated operator/test media routes, served only when delivery.test_routes is on
    )
    SUBSCRIBER = "subscriber"  # subscriber line credentials in the query/form (or path), checked by the endpoint
    SEGMENT_TOKEN = "segment-token"  # a signed, short-lived HLS segment token in the URL (headend.auth.tokens)
    ADMIN = "admin"  # admins only
    OPERATOR = "operator"  # admins and operators
    SUPPORT = "support"  # admins, operators and support
    RESELLER = "reseller"  # admins, operators and resellers (resellers: own objects only)
    ACCOUNT = "account"  # any admin account (resellers: own objects only)


ROLES: Final[dict[Policy, frozenset[Role]]] = {
    Policy.ADMIN: frozenset({Role.ADMIN}),
    Policy.OPERATOR: frozenset({Role.ADMIN, Role.OPERATOR}),
    Policy.SUPPORT: frozenset({Role.ADMIN, Role.OPERATOR, Role.SUPPORT}),
    Policy.RESELLER: frozenset({Role.ADMIN, Role.OPERATOR, Role.RESELLER}),
    Policy.ACCOUNT: frozenset(Role),
}
"""The roles each admin policy lets in (policies not listed here are not admin policies)."""


def roles_for(policy: Policy) -> frozenset[Role] | None:
    """The roles a policy admits, or None when it is not an admin-account policy."""
    return ROLES.get(policy)
