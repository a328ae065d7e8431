"""EPG: guide sources, their imports, the stored programmes, channel matches and operator overrides.

Adds tables only (no change to the 0001/0002 tables), so upgrading keeps every channel and subscriber as
they were and downgrading drops exactly what this revision created. The definitions are written out here
rather than imported from the models, so this revision stays what it was when the models change later.

Revision ID: 0003
Revises: 0002
Create Date: 2025-12-13
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, parent: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{parent}.id"], name=op.f(f"fk_{table}_{column}_{parent}"), ondelete=ondelete
    )


def _sources() -> None:
    op.create_table(
        "epg_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=4096), nullable=False),
        sa.Column("refresh_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_import_at", _utc(), nullable=True),
        sa.Column("last_success_at", _utc(), nullable=True),
        sa.Column("last_status", sa.String(length=16), server_default="", nullable=False),
        sa.Column("last_message", sa.String(length=2000), server_default="", nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_epg_sources_name_not_empty")),
        sa.CheckConstraint("kind IN ('url', 'file')", name=op.f("ck_epg_sources_kind")),
        sa.CheckConstraint("last_status IN ('', 'ok', 'failed')", name=op.f("ck_epg_sources_last_status")),
        sa.CheckConstraint("refresh_hours >= 0", name=op.f("ck_epg_sources_refresh_hours_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epg_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_epg_sources_name")),
        sqlite_autoincrement=True,
    )


def _imports() -> None:
    op.create_table(
        "epg_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("channels_matched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("programmes", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("state IN ('running', 'active', 'replaced', 'failed')", name=op.f("ck_epg_imports_state")),
        _fk("epg_imports", "source_id", "epg_sources"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epg_imports")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_epg_imports_source_id"), "epg_imports", ["source_id"], unique=False)
    active = sa.text("state = 'active'")
    op.create_index(
        "ux_epg_imports_one_active",
        "epg_imports",
        ["source_id"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )


def _programmes() -> None:
    op.create_table(
        "epg_programmes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("start", _utc(), nullable=False),
        sa.Column("stop", _utc(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("sub_title", sa.String(length=500), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("categories", sa.Text(), server_default="", nullable=False),
        sa.Column("episode_num", sa.String(length=100), server_default="", nullable=False),
        sa.Column("icon", sa.String(length=2048), server_default="", nullable=False),
        sa.Column("rating", sa.String(length=50), server_default="", nullable=False),
        sa.Column("lang", sa.String(length=16), server_default="", nullable=False),
        _fk("epg_programmes", "import_id", "epg_imports"),
        _fk("epg_programmes", "channel_id", "channels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epg_programmes")),
        sqlite_autoincrement=True,
    )
    # (channel, import, start): a guide read names both, so it is one range scan whatever the statistics say
    op.create_index(
        op.f("ix_epg_programmes_channel_id"), "epg_programmes", ["channel_id", "import_id", "start"], unique=False
    )
    op.create_index(op.f("ix_epg_programmes_import_id"), "epg_programmes", ["import_id"], unique=False)


def _mapping() -> None:
    op.create_table(
        "epg_matches",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("guide_id", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("method IN ('override', 'tvg_id', 'name')", name=op.f("ck_epg_matches_method")),
        _fk("epg_matches", "source_id", "epg_sources"),
        _fk("epg_matches", "channel_id", "channels"),
        _fk("epg_matches", "import_id", "epg_imports"),
        sa.PrimaryKeyConstraint("source_id", "channel_id", name=op.f("pk_epg_matches")),
    )
    op.create_index(op.f("ix_epg_matches_channel_id"), "epg_matches", ["channel_id"], unique=False)
    op.create_table(
        "epg_overrides",
        sa.Column("channel_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("guide_id", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(guide_id) > 0", name=op.f("ck_epg_overrides_guide_id_not_empty")),
        _fk("epg_overrides", "channel_id", "channels"),
        _fk("epg_overrides", "source_id", "epg_sources"),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_epg_overrides")),
    )


def upgrade() -> None:
    _sources()
    _imports()
    _programmes()
    _mapping()


def downgrade() -> None:
    op.drop_table("epg_overrides")
    op.drop_index(op.f("ix_epg_matches_channel_id"), table_name="epg_matches")
    op.drop_table("epg_matches")
    op.drop_index(op.f("ix_epg_programmes_import_id"), table_name="epg_programmes")
    op.drop_index(op.f("ix_epg_programmes_channel_id"), table_name="epg_programmes")
    op.drop_table("epg_programmes")
    op.drop_index("ux_epg_imports_one_active", table_name="epg_imports")
    op.drop_index(op.f("ix_epg_imports_source_id"), table_name="epg_imports")
    op.drop_table("epg_imports")
    op.drop_table("epg_sources")
