"""Initial catalog: categories, profiles, channels, sources, catalog_state.

Seeds the two built-in profiles ("remux" and "h264-720p") and the single catalog_state row. The table
definitions are written out here rather than imported from the models, so this revision stays what it was
when the models change later.

Revision ID: 0001
Revises:
Create Date: 2025-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROFILE_COLUMNS = ("name", "mode", "video_bitrate_kbps", "max_height", "fps", "gop_seconds", "x264_preset")
SEED_PROFILES: list[dict[str, object]] = [
    dict(zip(_PROFILE_COLUMNS, row, strict=True)) | {"audio_bitrate_kbps": 128}
    for row in (
        ("remux", "remux", 2500, 720, 25, 2.0, "veryfast"),
        ("h264-720p", "transcode", 2500, 720, 25, 2.0, "veryfast"),
    )
]


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("kind IN ('live', 'movie', 'series')", name=op.f("ck_categories_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_categories_kind")),
    )
    profiles = op.create_table(
        "profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("video_bitrate_kbps", sa.Integer(), nullable=False),
        sa.Column("max_height", sa.Integer(), nullable=False),
        sa.Column("fps", sa.Integer(), nullable=False),
        sa.Column("gop_seconds", sa.Double(), nullable=False),
        sa.Column("x264_preset", sa.String(length=16), nullable=False),
        sa.Column("audio_bitrate_kbps", sa.Integer(), nullable=False),
        sa.CheckConstraint("mode IN ('remux', 'transcode')", name=op.f("ck_profiles_mode")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_profiles_name")),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("logo_url", sa.String(length=2048), server_default="", nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("tvg_id", sa.String(length=200), server_default="", nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("on_demand", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_channels_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_channels_category_id_categories"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_channels_profile_id_profiles"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("number", name=op.f("uq_channels_number")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_channels_category_id"), "channels", ["category_id"], unique=False)
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=4096), server_default="", nullable=False),
        sa.Column("label", sa.String(length=200), server_default="", nullable=False),
        sa.Column("reconnect", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("user_agent", sa.String(length=512), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('http', 'hls', 'udp', 'rtp', 'srt', 'rtmp', 'file', 'testpattern')", name=op.f("ck_sources_kind")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_sources_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("channel_id", "position", name=op.f("uq_sources_channel_id")),
        sqlite_autoincrement=True,
    )
    catalog_state = op.create_table(
        "catalog_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_state")),
    )
    op.bulk_insert(profiles, SEED_PROFILES)
    op.bulk_insert(catalog_state, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("catalog_state")
    op.drop_table("sources")
    op.drop_index(op.f("ix_channels_category_id"), table_name="channels")
    op.drop_table("channels")
    op.drop_table("profiles")
    op.drop_table("categories")
