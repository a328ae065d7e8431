"""The operator-administration schema: admin accounts, the packages a reseller may sell, admin web
sessions, API tokens and the audit log.

Same :class:`~headend.catalog.models.Base` (and naming convention) as the other tables; migration
``0004_admin`` creates exactly this, which a test checks. The catalog package does not know about roles
as a Python type (``headend.admin`` is a layer above it): the ``role`` column holds the values of
:class:`headend.admin.principal.Role`, which :data:`ROLE_VALUES` repeats and a test keeps in sync.

Invariants the database itself keeps:

* usernames are unique and non-empty; ``credits`` is never negative (a reseller cannot overspend,
  whatever the race);
* deleting an account deletes its sessions, API tokens and sellable-package links (ON DELETE CASCADE),
  leaves the lines it owned without an owner (``lines.owner_id`` ON DELETE SET NULL) and leaves the audit
  log alone: ``audit_log.actor_id`` is deliberately not a foreign key (history is never rewritten) and
  ``actor`` keeps the username as it was;
* session cookies and API tokens are stored only as SHA-256 hex digests (``token_hash``, unique);
* ids are never reused on SQLite either (``sqlite_autoincrement``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from headend.catalog.models import Base, UTCDateTime, utcnow

ADMIN_USERNAME_MAX: Final = 64
ADMIN_PASSWORD_HASH_MAX: Final = 255
ADMIN_NOTES_MAX: Final = 2000
SESSION_ID_MAX: Final = 64
TOKEN_HASH_LEN: Final = 64  # SHA-256, hex
CSRF_TOKEN_MAX: Final = 64
IP_MAX: Final = 64
SESSION_USER_AGENT_MAX: Final = 512
TOKEN_NAME_MAX: Final = 100
TOKEN_PREFIX_MAX: Final = 16
AUDIT_ACTOR_MAX: Final = 64
AUDIT_ACTION_MAX: Final = 64
AUDIT_OBJECT_TYPE_MAX: Final = 64
AUDIT_OBJECT_ID_MAX: Final = 200

ROLE_VALUES: Final = ("admin", "operator", "support", "reseller")
"""The values of :class:`headend.admin.principal.Role`, most powerful first."""


class AdminRow(Base):
    """An operator-side account. ``password_hash`` is argon2id (``headend.admin.passwords``)."""

    __tablename__ = "admins"
    __table_args__ = (
        CheckConstraint("length(username) > 0", name="username_not_empty"),
        CheckConstraint("role IN ('admin', 'operator', 'support', 'reseller')", name="role"),
        CheckConstraint("credits >= 0", name="credits_not_negative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(ADMIN_USERNAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(ADMIN_PASSWORD_HASH_MAX))
    role: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    credits: Mapped[int] = mapped_column(default=0, server_default="0")
    notes: Mapped[str] = mapped_column(String(ADMIN_NOTES_MAX), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AdminResellerPackageRow(Base):
    """A package a reseller may sell (``position``: the order the account lists them in)."""

    __tablename__ = "admin_reseller_packages"
    __table_args__ = (Index(None, "package_id"),)

    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int]


class AdminSessionRow(Base):
    """A signed-in web panel session. ``id`` is public (logout, audit); the cookie is only its hash."""

    __tablename__ = "admin_sessions"
    __table_args__ = (Index(None, "admin_id"), Index(None, "expires_at"))

    id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LEN), unique=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(CSRF_TOKEN_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(IP_MAX), default="", server_default="")
    user_agent: Mapped[str] = mapped_column(String(SESSION_USER_AGENT_MAX), default="", server_default="")


class ApiTokenRow(Base):
    """A bearer token for the REST API, acting as its account. Only the hash and a display prefix stay."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index(None, "admin_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LEN), unique=True)
    prefix: Mapped[str] = mapped_column(String(TOKEN_PREFIX_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """One change made through the control plane or the CLI. ``before``/``after`` are JSON text."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "at"),
        Index(None, "actor_id"),
        Index(None, "object_type"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(AUDIT_ACTOR_MAX))
    action: Mapped[str] = mapped_column(String(AUDIT_ACTION_MAX))
    object_type: Mapped[str] = mapped_column(String(AUDIT_OBJECT_TYPE_MAX))
    object_id: Mapped[str] = mapped_column(String(AUDIT_OBJECT_ID_MAX), default="", server_default="")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str] = mapped_column(String(IP_MAX), default="", server_default="")


__all__ = [
    "ADMIN_NOTES_MAX",
    "ADMIN_PASSWORD_HASH_MAX",
    "ADMIN_USERNAME_MAX",
    "ROLE_VALUES",
    "AdminResellerPackageRow",
    "AdminRow",
    "AdminSessionRow",
    "ApiTokenRow",
    "AuditRow",
]
