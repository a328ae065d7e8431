"""The running application's parts, built once from the settings and passed to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass

from headend.admin.accounts import AdminAccounts
from headend.admin.api_tokens import ApiTokens
from headend.admin.audit import AuditLog
from headend.admin.resellers import Resellers
from headend.admin.sessions import AdminSessions
from headend.admin.throttle import LoginThrottle
from headend.auth.lines import LineAuthenticator
from headend.auth.sessions import InProcessSessionStore
from headend.auth.tokens import SegmentTokens
from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.subscribers import SubscriberStore
from headend.delivery.media import MediaService
from headend.epg.importer import EpgImporter
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
    admin_accounts: AdminAccounts
    admin_sessions: AdminSessions
    api_tokens: ApiTokens
    audit: AuditLog
    login_throttle: LoginThrottle
    resellers: Resellers
    epg: EpgStore
    epg_importer: EpgImporter
