"""The subscriber schema: bouquets, packages, lines and the ordered links between them.

Same :class:`~headend.catalog.models.Base` (and naming convention) as the channel tables; migration
``0002_subscribers`` creates exactly this, which a test checks. Invariants the database itself keeps:

* deleting a channel or a bouquet removes it from every bouquet / package (ON DELETE CASCADE);
* deleting a line removes its package links; a package still assigned to a line cannot be deleted
  (RESTRICT: taking a package away from paying lines must be a deliberate step);
* usernames, bouquet and package names are unique; connection limits and durations are positive;
* ids are never reused on SQLite either (``sqlite_autoincrement``): sessions, tokens and cache keys
  name lines and bouquets by id;
* a package's ``credit_cost`` is never negative; a line's ``owner_id`` (the reseller who sold it, migration
  ``0004_admin``) becomes NULL when that admin account is deleted.

List-valued settings (outputs, IP and user-agent allow-lists) are JSON arrays of strings.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

import headend.catalog.admin_models  # noqa: F401 - lines.owner_id references admins: keep both tables on Base
from headend.catalog.models import Base, UTCDateTime, utcnow
from headend.catalog.subscriber_records import (
    BAN_REASON_MAX,
    BOUQUET_NAME_MAX,
    NOTES_MAX,
    PACKAGE_NAME_MAX,
    PASSWORD_HASH_MAX,
    USERNAME_MAX,
)


class BouquetRow(Base):
    """A named, ordered group of channels; packages are made of bouquets."""

    __tablename__ = "bouquets"
    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_empty"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(BOUQUET_NAME_MAX), unique=True)
    position: Mapped[int] = mapped_column(default=0, server_default="0")


class BouquetChannelRow(Base):
    __tablename__ = "bouquet_channels"
    __table_args__ = (Index(None, "channel_id"),)

    bouquet_id: Mapped[int] = mapped_column(ForeignKey("bouquets.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int]


class PackageRow(Base):
    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("duration_days > 0", name="duration_positive"),
        CheckConstraint("max_connections > 0", name="max_connections_positive"),
        CheckConstraint("credit_cost >= 0", name="credit_cost_not_negative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(PACKAGE_NAME_MAX), unique=True)
    duration_days: Mapped[int]
    max_connections: Mapped[int]
    allowed_outputs: Mapped[list[str]] = mapped_column(JSON)
    is_trial: Mapped[bool] = mapped_column(default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    credit_cost: Mapped[int] = mapped_column(default=1, server_default="1")  # what a reseller pays per line/renewal


class PackageBouquetRow(Base):
    __tablename__ = "package_bouquets"
    __table_args__ = (Index(None, "bouquet_id"),)

    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True)
    bouquet_id: Mapped[int] = mapped_column(ForeignKey("bouquets.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int]


class LineRow(Base):
    """A subscriber account. ``password_hash`` is a keyed hash (see ``headend.auth.passwords``)."""

    __tablename__ = "lines"
    __table_args__ = (
        CheckConstraint("length(username) > 0", name="username_not_empty"),
        CheckConstraint("max_connections > 0", name="max_connections_positive"),
        Index(None, "owner_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(PASSWORD_HASH_MAX))
    exp_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    banned: Mapped[bool] = mapped_column(default=False, server_default=false())
    ban_reason: Mapped[str] = mapped_column(String(BAN_REASON_MAX), default="", server_default="")
    is_trial: Mapped[bool] = mapped_column(default=False, server_default=false())
    max_connections: Mapped[int] = mapped_column(default=1, server_default="1")
    allowed_outputs: Mapped[list[str]] = mapped_column(JSON)
    allowed_ips: Mapped[list[str]] = mapped_column(JSON)
    allowed_user_agents: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(String(NOTES_MAX), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="SET NULL"))  # selling reseller


class LinePackageRow(Base):
    __tablename__ = "line_packages"
    __table_args__ = (Index(None, "package_id"),)

    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="RESTRICT"), primary_key=True)
    position: Mapped[int]


__all__ = ["BouquetChannelRow", "BouquetRow", "LinePackageRow", "LineRow", "PackageBouquetRow", "PackageRow"]
