"""What the relay needs to know about a channel, independent of where it is stored."""

from __future__ import annotations

from dataclasses import dataclass

from headend.ingest.sources import Profile, SourceSpec
from headend.types import ChannelId


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    id: ChannelId
    name: str
    sources: tuple[SourceSpec, ...]
    profile: Profile
    on_demand: bool = True  # False: always on, started with the server
