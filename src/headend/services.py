"""The running application's parts, built once from the settings and passed to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass

from headend.auth.lines import LineAuthenticator
from headend.auth.sessions import InProcessSessionStore
from headend.auth.tokens import SegmentTokens
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.subscribers import SubscriberStore
from headend.delivery.media import MediaService
from headend.hls.packager import HlsService
from headend.relay.hub import ChannelHub
from headend.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    channels: ChannelStore
    hub: ChannelHub
    hls: HlsService
    media: MediaService
    subscribers: SubscriberStore
    authenticator: LineAuthenticator
    sessions: InProcessSessionStore
    tokens: SegmentTokens
