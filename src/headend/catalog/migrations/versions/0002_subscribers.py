"""Subscribers: bouquets, packages, lines and their ordered links.

Adds tables only (no change to the 0001 tables), so upgrading keeps every channel as it was and
downgrading drops exactly what this revision created. The definitions are written out here rather than
imported from the models, so this revision stays what it was when the models change later.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _link(name: str, left: tuple[str, str, str], right: tuple[str, str, str]) -> None:
    """A (left, right, position) link table; ``left``/``right`` = (column, parent table, ON DELETE)."""
    (lcol, ltable, ldel), (rcol, rtable, rdel) = left, right
    op.create_table(
        name,
        sa.Column(lcol, sa.Integer(), nullable=False),
        sa.Column(rcol, sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint([lcol], [f"{ltable}.id"], name=op.f(f"fk_{name}_{lcol}_{ltable}"), ondelete=ldel),
        sa.ForeignKeyConstraint([rcol], [f"{rtable}.id"], name=op.f(f"fk_{name}_{rcol}_{rtable}"), ondelete=rdel),
        sa.PrimaryKeyConstraint(lcol, rcol, name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_{rcol}"), name, [rcol], unique=False)


def upgrade() -> None:
    op.create_table(
        "bouquets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_bouquets_name_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bouquets")),
        sa.UniqueConstraint("name", name=op.f("uq_bouquets_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("max_connections", sa.Integer(), nullable=False),
        sa.Column("allowed_outputs", sa.JSON(), nullable=False),
        sa.Column("is_trial", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_packages_name_not_empty")),
        sa.CheckConstraint("duration_days > 0", name=op.f("ck_packages_duration_positive")),
        sa.CheckConstraint("max_connections > 0", name=op.f("ck_packages_max_connections_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("name", name=op.f("uq_packages_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "lines",
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
        sa.CheckConstraint("length(username) > 0", name=op.f("ck_lines_username_not_empty")),
        sa.CheckConstraint("max_connections > 0", name=op.f("ck_lines_max_connections_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint("username", name=op.f("uq_lines_username")),
        sqlite_autoincrement=True,
    )
    _link("bouquet_channels", ("bouquet_id", "bouquets", "CASCADE"), ("channel_id", "channels", "CASCADE"))
    _link("package_bouquets", ("package_id", "packages", "CASCADE"), ("bouquet_id", "bouquets", "CASCADE"))
    _link("line_packages", ("line_id", "lines", "CASCADE"), ("package_id", "packages", "RESTRICT"))


def downgrade() -> None:
    for link, column in (("line_packages", "package_id"), ("package_bouquets", "bouquet_id")):
        op.drop_index(op.f(f"ix_{link}_{column}"), table_name=link)
        op.drop_table(link)
    op.drop_index(op.f("ix_bouquet_channels_channel_id"), table_name="bouquet_channels")
    op.drop_table("bouquet_channels")
    op.drop_table("lines")
    op.drop_table("packages")
    op.drop_table("bouquets")
