"""The catalog schema as SQLAlchemy 2 typed models. Only the catalog package sees these classes.

Callers get frozen records (:mod:`headend.catalog.records`), never these rows. The schema is created by
the Alembic migrations in ``migrations/``; a test checks that the migrated schema equals this metadata.

Constraint names follow :data:`NAMING_CONVENTION` so that migrations (and SQLite batch mode, which
recreates tables) can address them by name on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from headend.catalog.records import (
    CATEGORY_NAME_MAX,
    CHANNEL_NAME_MAX,
    LABEL_MAX,
    LOGO_URL_MAX,
    PROFILE_NAME_MAX,
    SOURCE_URL_MAX,
    TVG_ID_MAX,
    USER_AGENT_MAX,
)

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC and
    given back its UTC ``tzinfo`` on the way out. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CategoryRow(Base):
    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("kind", "name"),
        CheckConstraint("kind IN ('live', 'movie', 'series')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX))
    position: Mapped[int] = mapped_column(default=0, server_default="0")


class ProfileRow(Base):
    """An ffmpeg profile; the columns mirror :class:`headend.ingest.sources.Profile`."""

    __tablename__ = "profiles"
    __table_args__ = (CheckConstraint("mode IN ('remux', 'transcode')", name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(PROFILE_NAME_MAX), unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    video_bitrate_kbps: Mapped[int]
    max_height: Mapped[int]
    fps: Mapped[int]
    gop_seconds: Mapped[float] = mapped_column(Double)
    x264_preset: Mapped[str] = mapped_column(String(16))
    audio_bitrate_kbps: Mapped[int]


class ChannelRow(Base):
    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        Index(None, "category_id"),
        {"sqlite_autoincrement": True},  # never reuse the id of a deleted channel (caches key on it)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int | None] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(CHANNEL_NAME_MAX))
    logo_url: Mapped[str] = mapped_column(String(LOGO_URL_MAX), default="", server_default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    tvg_id: Mapped[str] = mapped_column(String(TVG_ID_MAX), default="", server_default="")
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="RESTRICT"))
    on_demand: Mapped[bool] = mapped_column(default=True, server_default=true())
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SourceRow(Base):
    """One upstream of a channel; ``position`` is the failover order (0 = primary)."""

    __tablename__ = "sources"
    __table_args__ = (
        UniqueConstraint("channel_id", "position"),
        CheckConstraint(
            "kind IN ('http', 'hls', 'udp', 'rtp', 'srt', 'rtmp', 'file', 'testpattern')",
            name="kind",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(SOURCE_URL_MAX), default="", server_default="")
    label: Mapped[str] = mapped_column(String(LABEL_MAX), default="", server_default="")
    reconnect: Mapped[bool] = mapped_column(default=False, server_default=false())
    user_agent: Mapped[str] = mapped_column(String(USER_AGENT_MAX), default="", server_default="")
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())


class CatalogState(Base):
    """A single row; ``version`` goes up in the same transaction as every catalog change."""

    __tablename__ = "catalog_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(default=0, server_default="0")


__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "CatalogState",
    "CategoryRow",
    "ChannelRow",
    "ProfileRow",
    "SourceRow",
    "UTCDateTime",
]
