"""The client-API endpoints as Starlette callables, and the one place their dependencies are assembled.

``app.py`` registers each as a ``PolicyRoute`` with ``Policy.SUBSCRIBER``: the credentials travel in the
query or form and every endpoint checks them itself, answering failures with the contract's bodies (not
the control plane's error mapping). ``epg_xml`` (``/epg.xml``, every enabled channel's guide) is the
exception: an operator route, whose caller the route's policy has checked already.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from headend.api import documents, epg, xtream
from headend.api.context import XtreamContext
from headend.services import Services


def context(request: Request) -> XtreamContext:
    """The app's :class:`XtreamContext`, built from ``app.state.services`` on first use."""
    state = request.app.state
    found = getattr(state, "xtream", None)
    if isinstance(found, XtreamContext):
        return found
    services = state.services
    assert isinstance(services, Services)
    built = XtreamContext(
        settings=services.settings,
        authenticator=services.authenticator,
        sessions=services.sessions,
        channels=services.channels,
        epg=services.epg,
    )
    state.xtream = built
    return built


async def player_api(request: Request) -> Response:
    return await xtream.player_api(context(request), request)


async def panel_api(request: Request) -> Response:
    return await xtream.panel_api(context(request), request)


async def get_playlist(request: Request) -> Response:
    return await documents.playlist(context(request), request)


async def xmltv_guide(request: Request) -> Response:
    return await documents.guide(context(request), request)


async def epg_xml(request: Request) -> Response:
    return await epg.operator_guide(context(request), request)


__all__ = ["context", "epg_xml", "get_playlist", "panel_api", "player_api", "xmltv_guide"]
