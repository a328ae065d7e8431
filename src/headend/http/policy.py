"""Who may call a route. Every route, native or ASGI, declares one of these; a test fails on any that doesn't."""

from __future__ import annotations

from enum import StrEnum


class Policy(StrEnum):
    PUBLIC = "public"  # anyone: health checks, static assets
    TEST_ROUTES = (
        "test-routes"  # unauthenticated operator/test media routes, served only when delivery.test_routes is on
    )
    OPERATOR = "operator"  # the operator API token (Authorization: Bearer …)
    SUBSCRIBER = "subscriber"  # subscriber line credentials in the query/form (or path), checked by the endpoint
    SEGMENT_TOKEN = "segment-token"  # a signed, short-lived HLS segment token in the URL (headend.auth.tokens)
