"""The EPG schema: guide sources, their imports, stored programmes, channel matches and operator overrides.

Same :class:`~headend.catalog.models.Base` (and naming convention) as the channel tables; migration
``0003_epg`` creates exactly this, which a test checks. How the tables work together:

* an import of a source is ``running`` while its programmes are written, then becomes the source's one
  ``active`` import (a partial unique index keeps it to one) and the previous active one ``replaced``;
  readers only ever look at active imports, so a half-written guide is never visible;
* ``epg_programmes.source_id`` repeats the import's source (no foreign key of its own: the import's
  cascade covers it) so reads need no join to ``epg_imports``;
* ``epg_matches`` is the channel mapping the active import of each source used;
* deleting a channel or a source deletes its programmes, matches and overrides (ON DELETE CASCADE).

``categories`` of a programme are stored as one ``"\\n"``-joined text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from headend.catalog.epg_records import EPG_LOCATION_MAX, EPG_MESSAGE_MAX, EPG_SOURCE_NAME_MAX
from headend.catalog.models import Base, UTCDateTime, utcnow
from headend.epg.entries import EPISODE_MAX, GUIDE_ID_MAX, ICON_MAX, LANG_MAX, RATING_MAX, SUB_TITLE_MAX, TITLE_MAX

_ACTIVE: Final = text("state = 'active'")


class EpgSourceRow(Base):
    """Where a guide comes from; ``priority``: lower wins when two sources carry one channel."""

    __tablename__ = "epg_sources"
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("kind IN ('url', 'file')", name="kind"),
        CheckConstraint("last_status IN ('', 'ok', 'failed')", name="last_status"),
        CheckConstraint("refresh_hours >= 0", name="refresh_hours_not_negative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(EPG_SOURCE_NAME_MAX), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(EPG_LOCATION_MAX))
    refresh_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    priority: Mapped[int] = mapped_column(default=100, server_default="100")
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_import_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str] = mapped_column(String(16), default="", server_default="")
    last_message: Mapped[str] = mapped_column(String(EPG_MESSAGE_MAX), default="", server_default="")


class EpgImportRow(Base):
    """One run of the importer for one source (see ``ImportState``)."""

    __tablename__ = "epg_imports"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'active', 'replaced', 'failed')", name="state"),
        Index(None, "source_id"),
        Index("ux_epg_imports_one_active", "source_id", unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("epg_sources.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channels_matched: Mapped[int] = mapped_column(default=0, server_default="0")
    programmes: Mapped[int] = mapped_column(default=0, server_default="0")


class EpgProgrammeRow(Base):
    """A stored programme, already mapped to one of our channels."""

    __tablename__ = "epg_programmes"
    __table_args__ = (
        Index(None, "channel_id", "import_id", "start"),  # a guide read names channel and import: one range scan
        Index(None, "import_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("epg_imports.id", ondelete="CASCADE"))
    source_id: Mapped[int]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    stop: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    sub_title: Mapped[str] = mapped_column(String(SUB_TITLE_MAX), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    categories: Mapped[str] = mapped_column(Text, default="", server_default="")
    episode_num: Mapped[str] = mapped_column(String(EPISODE_MAX), default="", server_default="")
    icon: Mapped[str] = mapped_column(String(ICON_MAX), default="", server_default="")
    rating: Mapped[str] = mapped_column(String(RATING_MAX), default="", server_default="")
    lang: Mapped[str] = mapped_column(String(LANG_MAX), default="", server_default="")


class EpgMatchRow(Base):
    """Which guide channel of a source feeds one of our channels, as the source's active import mapped it."""

    __tablename__ = "epg_matches"
    __table_args__ = (
        CheckConstraint("method IN ('override', 'tvg_id', 'name')", name="method"),
        Index(None, "channel_id"),
    )

    source_id: Mapped[int] = mapped_column(ForeignKey("epg_sources.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    guide_id: Mapped[str] = mapped_column(String(GUIDE_ID_MAX))
    method: Mapped[str] = mapped_column(String(16))
    import_id: Mapped[int] = mapped_column(ForeignKey("epg_imports.id", ondelete="CASCADE"))


class EpgOverrideRow(Base):
    """The operator's mapping of a channel to a guide id (of one source, or of any when ``source_id`` is NULL)."""

    __tablename__ = "epg_overrides"
    __table_args__ = (CheckConstraint("length(guide_id) > 0", name="guide_id_not_empty"),)

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    guide_id: Mapped[str] = mapped_column(String(GUIDE_ID_MAX))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("epg_sources.id", ondelete="CASCADE"))


__all__ = ["EpgImportRow", "EpgMatchRow", "EpgOverrideRow", "EpgProgrammeRow", "EpgSourceRow"]
