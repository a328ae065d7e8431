"""The channel catalog: channels, their sources (in failover order), profiles and categories.

:class:`ChannelStore` is the only way the rest of Headend reads or changes these tables. Every method opens
its own session, returns frozen records (:mod:`headend.catalog.records`) and raises the errors of
:mod:`headend.errors`: ValidationError for bad input (before anything is written), NotFound for a missing
id, Conflict for a duplicate. Every change bumps ``catalog_state.version`` in the same transaction.

All SQL goes through the ORM with bound parameters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Final

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.db import Database
from headend.catalog.models import CatalogState, CategoryRow, ChannelRow, ProfileRow, SourceRow, utcnow
from headend.catalog.records import (
    CATEGORY_NAME_MAX,
    SEARCH_MAX,
    CategoryKind,
    CategoryRecord,
    ChannelInput,
    ChannelPatch,
    ChannelRecord,
    ProfileRecord,
    SourceInput,
    SourceRecord,
    check_int,
    check_profile,
    check_text,
)
from headend.errors import Conflict, NotFound, ValidationError
from headend.ingest.sources import Profile, ProfileMode, SourceKind, SourceSpec
from headend.relay.config import ChannelConfig
from headend.types import ChannelId

logger = logging.getLogger(__name__)

DEFAULT_PROFILE: Final = "remux"
LIST_LIMIT_MAX: Final = 10_000
_ID_MAX: Final = 2**31 - 1  # ids are 32-bit INTEGER columns; a larger id cannot exist

# Database constraint → what an operator is told when a concurrent change slipped past the checks.
_CONSTRAINT_MESSAGES: Final = (
    (("uq_channels_number", "channels.number"), "that channel number is already taken"),
    (("uq_profiles_name", "profiles.name"), "a profile with that name already exists"),
    (("uq_categories_kind", "categories.kind"), "a category with that name already exists"),
    (("uq_sources_channel_id", "sources.channel_id"), "the sources of this channel changed meanwhile; try again"),
    (("foreign key",), "a referenced object does not exist, or the object is still in use"),
)


class ChannelStore:
    """Typed access to the channel catalog (see the module docstring for the error contract)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    @contextlib.asynccontextmanager
    async def _change(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that first bumps the catalog version.

        Bumping first also takes the catalog_state row lock on PostgreSQL, so catalog writers run one at
        a time there too (SQLite already has a single writer); the checks below cannot race each other.
        """
        try:
            async with self._db.write() as session:
                bump = update(CatalogState).where(CatalogState.id == 1).values(version=CatalogState.version + 1)
                await session.execute(bump.execution_options(synchronize_session=False))
                yield session
        except IntegrityError as exc:
            raise Conflict(_constraint_message(exc)) from None

    async def catalog_version(self) -> int:
        """A number that grows with every catalog change (for invalidating cached responses)."""
        async with self._db.session() as session:
            return (await session.execute(select(CatalogState.version).where(CatalogState.id == 1))).scalar_one()

    # -- channels -------------------------------------------------------------------------------

    async def create_channel(self, data: ChannelInput) -> ChannelRecord:
        async with self._change() as session:
            profile_id = await _resolve_profile(session, data.profile_id)
            await _check_category(session, data.category_id)
            await _check_number_free(session, data.number, exclude=None)
            now = utcnow()
            values = dataclasses.asdict(data) | {"profile_id": profile_id, "created_at": now, "updated_at": now}
            row = ChannelRow(**values)
            session.add(row)
            await session.flush()
            logger.info("channel %s created", row.id, extra={"channel_id": row.id})
            return _channel_record(row)

    async def update_channel(self, channel_id: int, patch: ChannelPatch) -> ChannelRecord:
        changes = patch.changes()
        if not changes:
            return await self.get_channel(channel_id)
        async with self._change() as session:
            row = await _channel_row(session, channel_id)
            if "profile_id" in changes:
                changes["profile_id"] = await _resolve_profile(session, _optional_int(changes["profile_id"]))
            if "category_id" in changes:
                await _check_category(session, _optional_int(changes["category_id"]))
            if "number" in changes:
                await _check_number_free(session, _optional_int(changes["number"]), exclude=row.id)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            await session.flush()
            return _channel_record(row)

    async def delete_channel(self, channel_id: int) -> None:
        """Delete a channel and (by ON DELETE CASCADE) its sources."""
        async with self._change() as session:
            await session.delete(await _channel_row(session, channel_id))
        logger.info("channel %s deleted", channel_id, extra={"channel_id": channel_id})

    async def get_channel(self, channel_id: int) -> ChannelRecord:
        async with self._db.session() as session:
            return _channel_record(await _channel_row(session, channel_id))

    async def list_channels(
        self, *, enabled_only: bool = False, search: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[ChannelRecord]:
        """Channels by number (unnumbered last), then name. ``search``: case-insensitive substring of the
        name or EPG id (SQLite folds ASCII case only)."""
        stmt = select(ChannelRow)
        if enabled_only:
            stmt = stmt.where(ChannelRow.enabled)
        if search:
            text = check_text(search, "search", SEARCH_MAX)
            stmt = stmt.where(
                or_(
                    ChannelRow.name.icontains(text, autoescape=True), ChannelRow.tvg_id.icontains(text, autoescape=True)
                )
            )
        if limit is not None:
            stmt = stmt.limit(check_int(limit, "limit", low=1, high=LIST_LIMIT_MAX))
        stmt = stmt.offset(check_int(offset, "offset", low=0, high=_ID_MAX))
        stmt = stmt.order_by(ChannelRow.number.is_(None), ChannelRow.number, ChannelRow.name, ChannelRow.id)
        async with self._db.session() as session:
            return [_channel_record(row) for row in (await session.scalars(stmt)).all()]

    # -- sources --------------------------------------------------------------------------------

    async def list_sources(self, channel_id: int) -> list[SourceRecord]:
        """All sources of a channel (enabled or not) in failover order."""
        async with self._db.session() as session:
            await _channel_row(session, channel_id)
            return [_source_record(row) for row in await _source_rows(session, channel_id)]

    async def get_source(self, source_id: int) -> SourceRecord:
        async with self._db.session() as session:
            return _source_record(await _source_row(session, source_id))

    async def add_source(self, channel_id: int, source: SourceInput, position: int | None = None) -> SourceRecord:
        """Insert a source at ``position`` (0 = primary; None or past the end: last)."""
        spec = source.spec()
        if position is not None:
            check_int(position, "position", low=0, high=_ID_MAX)
        async with self._change() as session:
            await _channel_row(session, channel_id)
            rows = await _source_rows(session, channel_id)
            at = len(rows) if position is None else min(position, len(rows))
            row = SourceRow(channel_id=channel_id, position=at, enabled=source.enabled, **_spec_columns(spec))
            session.add(row)
            if at < len(rows):
                await _renumber(session, [*rows[:at], row, *rows[at:]])
            await session.flush()
            return _source_record(row)

    async def remove_source(self, source_id: int) -> None:
        """Remove a source; the ones after it move up."""
        async with self._change() as session:
            row = await _source_row(session, source_id)
            rest = [r for r in await _source_rows(session, row.channel_id) if r.id != row.id]
            await session.delete(row)
            await session.flush()
            await _renumber(session, rest)

    async def move_source(self, source_id: int, new_position: int) -> SourceRecord:
        """Move a source to ``new_position`` (0 = primary; past the end: last), shifting the others."""
        check_int(new_position, "new_position", low=0, high=_ID_MAX)
        async with self._change() as session:
            row = await _source_row(session, source_id)
            rest = [r for r in await _source_rows(session, row.channel_id) if r.id != row.id]
            at = min(new_position, len(rest))
            await _renumber(session, [*rest[:at], row, *rest[at:]])
            return _source_record(row)

    async def set_source_enabled(self, source_id: int, enabled: bool) -> SourceRecord:
        """Enable or disable a source without losing its place in the failover order."""
        async with self._change() as session:
            row = await _source_row(session, source_id)
            row.enabled = bool(enabled)
            await session.flush()
            return _source_record(row)

    # -- profiles -------------------------------------------------------------------------------

    async def list_profiles(self) -> list[ProfileRecord]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(ProfileRow).order_by(ProfileRow.id))).all()
            return [_profile_record(row) for row in rows]

    async def get_profile_by_name(self, name: str) -> ProfileRecord:
        async with self._db.session() as session:
            row = await session.scalar(select(ProfileRow).where(ProfileRow.name == name))
            if row is None:
                raise NotFound(f"no profile named {name[:80]!r}")
            return _profile_record(row)

    async def create_profile(self, profile: Profile) -> ProfileRecord:
        check_profile(profile)
        async with self._change() as session:
            if await session.scalar(select(ProfileRow.id).where(ProfileRow.name == profile.name)) is not None:
                raise Conflict(f"a profile named {profile.name!r} already exists")
            row = ProfileRow(**{f.name: getattr(profile, f.name) for f in dataclasses.fields(profile)})
            row.mode = ProfileMode(profile.mode).value
            session.add(row)
            await session.flush()
            return _profile_record(row)

    # -- categories -----------------------------------------------------------------------------

    async def list_categories(self, kind: CategoryKind | str) -> list[CategoryRecord]:
        stmt = select(CategoryRow).where(CategoryRow.kind == _category_kind(kind).value)
        async with self._db.session() as session:
            rows = (await session.scalars(stmt.order_by(CategoryRow.position, CategoryRow.name))).all()
            return [_category_record(row) for row in rows]

    async def ensure_category(self, kind: CategoryKind | str, name: str) -> CategoryRecord:
        """The category of this kind and exact name, created (last in order) if it does not exist yet."""
        kind_value = _category_kind(kind).value
        check_text(name, "name", CATEGORY_NAME_MAX, required=True)
        lookup = select(CategoryRow).where(CategoryRow.kind == kind_value, CategoryRow.name == name)
        async with self._db.session() as session:
            found = await session.scalar(lookup)
        if found is not None:
            return _category_record(found)
        async with self._change() as session:
            found = await session.scalar(lookup)  # created meanwhile by another writer?
            if found is not None:
                return _category_record(found)
            return await _add_category(session, kind_value, name)

    async def create_category(self, kind: CategoryKind | str, name: str) -> CategoryRecord:
        """A new category, last in order; Conflict if this kind already has one of this exact name."""
        kind_value = _category_kind(kind).value
        check_text(name, "name", CATEGORY_NAME_MAX, required=True)
        async with self._change() as session:
            taken = select(CategoryRow.id).where(CategoryRow.kind == kind_value, CategoryRow.name == name)
            if await session.scalar(taken) is not None:
                raise Conflict(f"a {kind_value} category named {name!r} already exists")
            return await _add_category(session, kind_value, name)

    async def delete_category(self, category_id: int) -> None:
        """Delete a category; its channels keep existing without one (ON DELETE SET NULL)."""
        async with self._change() as session:
            row = await session.get(CategoryRow, _lookup_id(category_id, "category"))
            if row is None:
                raise NotFound(f"category {category_id} does not exist")
            await session.delete(row)

    # -- what the relay needs -------------------------------------------------------------------

    async def channel_config(self, channel_id: int) -> ChannelConfig:
        """The relay's view of an enabled channel: enabled sources in order, and its profile."""
        stmt = (
            select(ChannelRow, ProfileRow)
            .join(ProfileRow, ChannelRow.profile_id == ProfileRow.id)
            .where(ChannelRow.id == _lookup_id(channel_id, "channel"))
        )
        async with self._db.session() as session:
            found = (await session.execute(stmt)).one_or_none()
            if found is None:
                raise NotFound(f"channel {channel_id} does not exist")
            channel, profile = found
            if not channel.enabled:
                raise NotFound(f"channel {channel_id} is disabled")
            specs = await _enabled_specs(session, [channel.id])
            return _channel_config(channel, profile, specs.get(channel.id, ()))

    async def always_on_configs(self) -> list[ChannelConfig]:
        """Configs of the enabled channels that run without viewers (``on_demand`` false), by id."""
        stmt = (
            select(ChannelRow, ProfileRow)
            .join(ProfileRow, ChannelRow.profile_id == ProfileRow.id)
            .where(ChannelRow.enabled, ChannelRow.on_demand.is_(False))
            .order_by(ChannelRow.id)
        )
        async with self._db.session() as session:
            pairs = (await session.execute(stmt)).all()
            specs = await _enabled_specs(session, [channel.id for channel, _ in pairs])
            return [_channel_config(channel, profile, specs.get(channel.id, ())) for channel, profile in pairs]


# -- helpers: lookups and checks --------------------------------------------------------------------


def _lookup_id(value: int, what: str) -> int:
    """``value`` if it can be an id; NotFound if it cannot exist (0, negative, beyond 32 bits)."""
    if type(value) is not int:
        raise ValidationError(f"{what} id must be an integer", field="id")
    if not 1 <= value <= _ID_MAX:
        raise NotFound(f"{what} {value} does not exist")
    return value


def _optional_int(value: object) -> int | None:
    assert value is None or isinstance(value, int)  # validated by ChannelPatch
    return value


async def _channel_row(session: AsyncSession, channel_id: int) -> ChannelRow:
    row = await session.get(ChannelRow, _lookup_id(channel_id, "channel"))
    if row is None:
        raise NotFound(f"channel {channel_id} does not exist")
    return row


async def _source_row(session: AsyncSession, source_id: int) -> SourceRow:
    row = await session.get(SourceRow, _lookup_id(source_id, "source"))
    if row is None:
        raise NotFound(f"source {source_id} does not exist")
    return row


async def _source_rows(session: AsyncSession, channel_id: int) -> list[SourceRow]:
    stmt = select(SourceRow).where(SourceRow.channel_id == channel_id).order_by(SourceRow.position)
    return list((await session.scalars(stmt)).all())


async def _resolve_profile(session: AsyncSession, profile_id: int | None) -> int:
    if profile_id is None:
        found = await session.scalar(select(ProfileRow.id).where(ProfileRow.name == DEFAULT_PROFILE))
        if found is None:
            raise ValidationError(f"the built-in {DEFAULT_PROFILE!r} profile is missing", field="profile_id")
        return found
    if await session.get(ProfileRow, profile_id) is None:
        raise ValidationError(f"profile {profile_id} does not exist", field="profile_id")
    return profile_id


async def _check_category(session: AsyncSession, category_id: int | None) -> None:
    if category_id is not None and await session.get(CategoryRow, category_id) is None:
        raise ValidationError(f"category {category_id} does not exist", field="category_id")


async def _check_number_free(session: AsyncSession, number: int | None, *, exclude: int | None) -> None:
    if number is None:
        return
    holder = (await session.execute(select(ChannelRow.id, ChannelRow.name).where(ChannelRow.number == number))).first()
    if holder is not None and holder.id != exclude:
        raise Conflict(f"channel number {number} is taken by {holder.name!r}")


async def _renumber(session: AsyncSession, rows: Sequence[SourceRow]) -> None:
    """Give ``rows`` positions 0..n-1 in list order, never holding two on one (channel, position).

    Stored positions are never negative, so parking every row on a distinct negative number first, then
    moving each to its final place, cannot collide with the unique constraint on either database.
    """
    for index, row in enumerate(rows):
        row.position = -(index + 1)
    await session.flush()
    for index, row in enumerate(rows):
        row.position = index
    await session.flush()


async def _enabled_specs(session: AsyncSession, channel_ids: list[int]) -> dict[int, tuple[SourceSpec, ...]]:
    if not channel_ids:
        return {}
    stmt = (
        select(SourceRow)
        .where(SourceRow.channel_id.in_(channel_ids), SourceRow.enabled)
        .order_by(SourceRow.channel_id, SourceRow.position)
    )
    grouped: dict[int, list[SourceSpec]] = {}
    for row in (await session.scalars(stmt)).all():
        grouped.setdefault(row.channel_id, []).append(_spec(row))
    return {channel_id: tuple(specs) for channel_id, specs in grouped.items()}


async def _add_category(session: AsyncSession, kind_value: str, name: str) -> CategoryRecord:
    last = await session.scalar(select(func.max(CategoryRow.position)).where(CategoryRow.kind == kind_value))
    row = CategoryRow(kind=kind_value, name=name, position=0 if last is None else last + 1)
    session.add(row)
    await session.flush()
    return _category_record(row)


def _category_kind(kind: CategoryKind | str) -> CategoryKind:
    try:
        return CategoryKind(kind)
    except ValueError:
        raise ValidationError(f"unknown category kind {str(kind)[:40]!r}", field="kind") from None


def _constraint_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    for needles, message in _CONSTRAINT_MESSAGES:
        if any(needle in text for needle in needles):
            return message
    return "the change conflicts with the stored catalog"


# -- helpers: rows to records -----------------------------------------------------------------------


def _channel_record(row: ChannelRow) -> ChannelRecord:
    return ChannelRecord(
        id=ChannelId(row.id),
        number=row.number,
        name=row.name,
        logo_url=row.logo_url,
        category_id=row.category_id,
        tvg_id=row.tvg_id,
        profile_id=row.profile_id,
        on_demand=row.on_demand,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _spec_columns(spec: SourceSpec) -> dict[str, object]:
    return {
        "kind": spec.kind.value,
        "url": spec.url,
        "label": spec.label,
        "reconnect": spec.reconnect,
        "user_agent": spec.user_agent,
    }


def _spec(row: SourceRow) -> SourceSpec:
    return SourceSpec(
        kind=SourceKind(row.kind), url=row.url, label=row.label, reconnect=row.reconnect, user_agent=row.user_agent
    )


def _source_record(row: SourceRow) -> SourceRecord:
    return SourceRecord(
        id=row.id, channel_id=ChannelId(row.channel_id), position=row.position, spec=_spec(row), enabled=row.enabled
    )


def _profile(row: ProfileRow) -> Profile:
    return Profile(
        name=row.name,
        mode=ProfileMode(row.mode),
        video_bitrate_kbps=row.video_bitrate_kbps,
        max_height=row.max_height,
        fps=row.fps,
        gop_seconds=row.gop_seconds,
        x264_preset=row.x264_preset,
        audio_bitrate_kbps=row.audio_bitrate_kbps,
    )


def _profile_record(row: ProfileRow) -> ProfileRecord:
    return ProfileRecord(id=row.id, profile=_profile(row))


def _category_record(row: CategoryRow) -> CategoryRecord:
    return CategoryRecord(id=row.id, kind=CategoryKind(row.kind), name=row.name, position=row.position)


def _channel_config(channel: ChannelRow, profile: ProfileRow, sources: tuple[SourceSpec, ...]) -> ChannelConfig:
    return ChannelConfig(
        id=ChannelId(channel.id),
        name=channel.name,
        sources=sources,
        profile=_profile(profile),
        on_demand=channel.on_demand,
    )


__all__ = ["DEFAULT_PROFILE", "ChannelStore"]
