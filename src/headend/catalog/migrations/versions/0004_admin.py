"""Admin: accounts and roles, the packages a reseller may sell, web sessions, API tokens, the audit log;
``lines.owner_id`` (the reseller that sold a line) and ``packages.credit_cost``.

Upgrading keeps every existing line (owned by nobody: the operator's own) and package (costing 1 credit);
downgrading drops exactly what this revision added. SQLite cannot add a foreign key or a CHECK with
``ALTER TABLE``, so the two changed tables are altered in batch mode (copied into a new table; the
``sqlite_autoincrement`` flag is passed again because SQLite's reflection does not report it; offline, the
tables are described as they are instead of reflected). The
definitions are written out here rather than imported from the models, so this revision stays what it was
when the models change later.

Revision ID: 0004
Revises: 0003
Create Date: 2025-12-20
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _admin_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["admin_id"], ["admins.id"], name=op.f(f"fk_{table}_admin_id_admins"), ondelete="CASCADE"
    )


def _accounts() -> None:
    op.create_table(
        "admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("credits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notes", sa.String(length=2000), server_default="", nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_login_at", _utc(), nullable=True),
        sa.CheckConstraint("length(username) > 0", name=op.f("ck_admins_username_not_empty")),
        sa.CheckConstraint("role IN ('admin', 'operator', 'support', 'reseller')", name=op.f("ck_admins_role")),
        sa.CheckConstraint("credits >= 0", name=op.f("ck_admins_credits_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admins")),
        sa.UniqueConstraint("username", name=op.f("uq_admins_username")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "admin_reseller_packages",
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _admin_fk("admin_reseller_packages"),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_admin_reseller_packages_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("admin_id", "package_id", name=op.f("pk_admin_reseller_packages")),
    )
    op.create_index(
        op.f("ix_admin_reseller_packages_package_id"), "admin_reseller_packages", ["package_id"], unique=False
    )


def _credentials() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_used_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("ip", sa.String(length=64), server_default="", nullable=False),
        sa.Column("user_agent", sa.String(length=512), server_default="", nullable=False),
        _admin_fk("admin_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_sessions_token_hash")),
    )
    op.create_index(op.f("ix_admin_sessions_admin_id"), "admin_sessions", ["admin_id"], unique=False)
    op.create_index(op.f("ix_admin_sessions_expires_at"), "admin_sessions", ["expires_at"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_used_at", _utc(), nullable=True),
        _admin_fk("api_tokens"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_api_tokens_admin_id"), "api_tokens", ["admin_id"], unique=False)


def _audit() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=200), server_default="", nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(length=64), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sqlite_autoincrement=True,
    )
    for column in ("at", "actor_id", "object_type"):
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column], unique=False)


def _packages_table(meta: sa.MetaData, *, credit_cost: bool) -> sa.Table:
    """``packages`` as 0002 made it (and, with ``credit_cost``, as this revision leaves it)."""
    extra: list[Any] = []
    if credit_cost:
        extra = [
            sa.Column("credit_cost", sa.Integer(), server_default="1", nullable=False),
            sa.CheckConstraint("credit_cost >= 0", name="ck_packages_credit_cost_not_negative"),
        ]
    return sa.Table(
        "packages",
        meta,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("max_connections", sa.Integer(), nullable=False),
        sa.Column("allowed_outputs", sa.JSON(), nullable=False),
        sa.Column("is_trial", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        *extra,
        sa.CheckConstraint("length(name) > 0", name="ck_packages_name_not_empty"),
        sa.CheckConstraint("duration_days > 0", name="ck_packages_duration_positive"),
        sa.CheckConstraint("max_connections > 0", name="ck_packages_max_connections_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_packages"),
        sa.UniqueConstraint("name", name="uq_packages_name"),
        sqlite_autoincrement=True,
    )


def _lines_table(meta: sa.MetaData, *, owner: bool) -> sa.Table:
    """``lines`` as 0002 made it (and, with ``owner``, as this revision leaves it)."""
    extra: list[Any] = []
    if owner:
        sa.Table("admins", meta, sa.Column("id", sa.Integer(), primary_key=True))
        extra = [
            sa.Column("owner_id", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["owner_id"], ["admins.id"], name="fk_lines_owner_id_admins", ondelete="SET NULL"),
            sa.Index("ix_lines_owner_id", "owner_id"),
        ]
    return sa.Table(
        "lines",
        meta,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("exp_at", _utc(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("banned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("ban_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("is_trial", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("max_connections", sa.Integer(), server_default="1", nullable=False),
        sa.Column("allowed_outputs", sa.JSON(), nullable=False),
        sa.Column("allowed_ips", sa.JSON(), nullable=False),
        sa.Column("allowed_user_agents", sa.JSON(), nullable=False),
        sa.Column("notes", sa.String(length=2000), server_default="", nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=True),
        *extra,
        sa.CheckConstraint("length(username) > 0", name="ck_lines_username_not_empty"),
        sa.CheckConstraint("max_connections > 0", name="ck_lines_max_connections_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_lines"),
        sa.UniqueConstraint("username", name="uq_lines_username"),
        sqlite_autoincrement=True,
    )


@contextlib.contextmanager
def _batch(table: str, copy_from: sa.Table) -> Iterator[Any]:
    """``batch_alter_table``: online, the live table is reflected; offline (``--sql``, where SQLite cannot
    reflect), ``copy_from`` describes it.

    SQLite: the copy would restart the AUTOINCREMENT counter at the highest id left, so ids of deleted rows
    above it could come back; the counter is carried over."""
    offline = context.is_offline_mode()
    bind = None if offline else op.get_bind()
    counter = None
    if bind is not None and bind.dialect.name == "sqlite":
        counter = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar()
    with op.batch_alter_table(
        table, copy_from=copy_from if offline else None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        yield batch
    if bind is not None and counter is not None:
        params = {"t": table, "seq": counter}
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), params)
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"), params)


def _add_subscriber_columns() -> None:
    with _batch("packages", _packages_table(sa.MetaData(), credit_cost=False)) as batch:
        batch.add_column(sa.Column("credit_cost", sa.Integer(), server_default="1", nullable=False))
        batch.create_check_constraint(op.f("ck_packages_credit_cost_not_negative"), "credit_cost >= 0")
    with _batch("lines", _lines_table(sa.MetaData(), owner=False)) as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_lines_owner_id_admins"), "admins", ["owner_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_lines_owner_id"), ["owner_id"], unique=False)


def _drop_subscriber_columns() -> None:
    with _batch("lines", _lines_table(sa.MetaData(), owner=True)) as batch:
        batch.drop_index(op.f("ix_lines_owner_id"))
        batch.drop_constraint(op.f("fk_lines_owner_id_admins"), type_="foreignkey")
        batch.drop_column("owner_id")
    with _batch("packages", _packages_table(sa.MetaData(), credit_cost=True)) as batch:
        batch.drop_constraint(op.f("ck_packages_credit_cost_not_negative"), type_="check")
        batch.drop_column("credit_cost")


def upgrade() -> None:
    _accounts()
    _credentials()
    _audit()
    _add_subscriber_columns()


def downgrade() -> None:
    _drop_subscriber_columns()
    for column in ("object_type", "actor_id", "at"):
        op.drop_index(op.f(f"ix_audit_log_{column}"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_api_tokens_admin_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_admin_sessions_expires_at"), table_name="admin_sessions")
    op.drop_index(op.f("ix_admin_sessions_admin_id"), table_name="admin_sessions")
    op.drop_table("admin_sessions")
    op.drop_index(op.f("ix_admin_reseller_packages_package_id"), table_name="admin_reseller_packages")
    op.drop_table("admin_reseller_packages")
    op.drop_table("admins")
