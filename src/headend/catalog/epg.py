"""The EPG part of the catalog: guide sources, operator overrides, imports and the stored guide.

:class:`EpgStore` is the only way the rest of Headend reads or changes the EPG tables. Errors follow the
catalog's contract: ValidationError for bad input (before anything is written), NotFound for a missing id,
Conflict for a duplicate or a state that changed meanwhile.

Imports are built so that a failed, interrupted or half-written import never shows: programmes are written
under a ``running`` import in short transactions (:meth:`EpgStore.add_programmes`), readers only look at
``active`` imports, and :meth:`EpgStore.finish_import` swaps the new import in, the old one out and the
source's channel matches in one short transaction. Old programmes are deleted afterwards, a few thousand
rows per transaction, so a guide of millions of rows never holds the SQLite writer lock for long.

Writes that change what readers see bump ``catalog_state.version`` in the same transaction (like
:class:`~headend.catalog.channels.ChannelStore`), so cached guides and catalogs are rebuilt.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog import epg_queries as q
from headend.catalog import epg_rows as r
from headend.catalog.db import Database
from headend.catalog.epg_models import EpgImportRow, EpgMatchRow, EpgOverrideRow, EpgProgrammeRow, EpgSourceRow
from headend.catalog.epg_records import (
    ChannelMatch,
    EpgOverride,
    EpgSourceInput,
    EpgSourceKind,
    EpgSourceRecord,
    ImportState,
    ProgrammeRecord,
)
from headend.catalog.models import CatalogState, ChannelRow, utcnow
from headend.catalog.records import check_int, check_text
from headend.epg.entries import GUIDE_ID_MAX, Programme
from headend.errors import Conflict, NotFound, ValidationError

logger = logging.getLogger(__name__)

DELETE_BATCH: Final = 5000  # programmes deleted per write transaction
UPCOMING_MAX: Final = 1000
_PROGRAMMES: Final = cast(Table, EpgProgrammeRow.__table__)
_MATCHES: Final = cast(Table, EpgMatchRow.__table__)


class EpgStore:
    """Typed access to the EPG tables (see the module docstring for the error and import contracts)."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._now = now

    @property
    def db(self) -> Database:
        return self._db

    @contextlib.asynccontextmanager
    async def _write(self, *, bump: bool) -> AsyncIterator[AsyncSession]:
        """A write transaction (bumping the catalog version first if ``bump``); IntegrityError -> Conflict."""
        try:
            async with self._db.write() as session:
                if bump:
                    stmt = update(CatalogState).where(CatalogState.id == 1).values(version=CatalogState.version + 1)
                    await session.execute(stmt.execution_options(synchronize_session=False))
                yield session
        except IntegrityError as exc:
            raise Conflict(r.constraint_message(exc)) from None

    # -- sources --------------------------------------------------------------------------------

    async def create_source(self, data: EpgSourceInput) -> EpgSourceRecord:
        kind = r.source_kind(data.kind)
        async with self._write(bump=True) as session:
            await r.check_name_free(session, data.name, exclude=None)
            row = EpgSourceRow(
                name=data.name,
                kind=kind.value,
                location=data.location,
                refresh_hours=data.refresh_hours,
                priority=data.priority,
                enabled=data.enabled,
                created_at=self._now(),
            )
            session.add(row)
            await session.flush()
            logger.info("EPG source %s (%s) created", row.id, row.name)
            return q.source_record(row)

    async def update_source(
        self,
        source_id: int,
        *,
        name: str | None = None,
        location: str | None = None,
        refresh_hours: int | None = None,
        priority: int | None = None,
        enabled: bool | None = None,
    ) -> EpgSourceRecord:
        """Change the given fields (None: keep); the result is validated like :class:`EpgSourceInput`."""
        async with self._write(bump=True) as session:
            row = await r.source_row(session, source_id)
            checked = EpgSourceInput(
                name=row.name if name is None else name,
                kind=EpgSourceKind(row.kind),
                location=row.location if location is None else location,
                refresh_hours=row.refresh_hours if refresh_hours is None else refresh_hours,
                priority=row.priority if priority is None else priority,
                enabled=row.enabled if enabled is None else enabled,
            )
            if not isinstance(checked.enabled, bool):
                raise ValidationError("enabled must be true or false", field="enabled")
            if checked.name != row.name:
                await r.check_name_free(session, checked.name, exclude=row.id)
            row.name, row.location, row.enabled = checked.name, checked.location, checked.enabled
            row.refresh_hours, row.priority = checked.refresh_hours, checked.priority
            await session.flush()
        return (await self._source_records(source_id))[0]

    async def delete_source(self, source_id: int) -> None:
        """Delete a source with its imports, programmes, matches and overrides.

        The guide stops showing the source at once (first transaction); its programmes are then deleted in
        batches and the source row last. Interrupted half-way, the source is still listed (delete it again)
        and :meth:`cleanup_abandoned` removes the orphaned programmes at the next start.
        """
        async with self._write(bump=True) as session:
            await r.source_row(session, source_id)
            import_ids = list(
                (await session.scalars(select(EpgImportRow.id).where(EpgImportRow.source_id == source_id))).all()
            )
            await session.execute(delete(_MATCHES).where(_MATCHES.c.source_id == source_id))
            await r.set_state(session, import_ids, ImportState.REPLACED, self._now())
        await self._purge(import_ids)
        async with self._write(bump=True) as session:
            await session.execute(delete(EpgSourceRow).where(EpgSourceRow.id == source_id))
        logger.info("EPG source %s deleted", source_id)

    async def get_source(self, source_id: int) -> EpgSourceRecord:
        found = await self._source_records(r.lookup_id(source_id, "EPG source"))
        if not found:
            raise NotFound(f"EPG source {source_id} does not exist")
        return found[0]

    async def get_source_by_name(self, name: str) -> EpgSourceRecord:
        async with self._db.session() as session:
            found = (await session.execute(q.source_select().where(EpgSourceRow.name == name))).first()
        if found is None:
            raise NotFound(f"no EPG source named {name[:80]!r}")
        return q.source_record(*found)

    async def list_sources(self) -> list[EpgSourceRecord]:
        """Every source, by priority (lowest first), then id."""
        return await self._source_records(None)

    async def due_sources(self, now: datetime) -> list[EpgSourceRecord]:
        """Enabled sources with a refresh period that were never imported or whose period has run out."""
        return [
            source
            for source in await self.list_sources()
            if source.enabled
            and source.refresh_hours > 0
            and (source.last_import_at is None or source.last_import_at + timedelta(hours=source.refresh_hours) <= now)
        ]

    async def _source_records(self, source_id: int | None) -> list[EpgSourceRecord]:
        async with self._db.session() as session:
            return await q.source_records(session, source_id)

    # -- overrides ------------------------------------------------------------------------------

    async def set_override(self, channel_id: int, guide_id: str, source_id: int | None = None) -> EpgOverride:
        """Map a channel to ``guide_id`` (of ``source_id``, or of any source); used from the next import on."""
        check_text(guide_id, "guide_id", GUIDE_ID_MAX, required=True)
        async with self._write(bump=True) as session:
            if await session.get(ChannelRow, r.lookup_id(channel_id, "channel")) is None:
                raise NotFound(f"channel {channel_id} does not exist")
            if source_id is not None:
                await r.source_row(session, source_id)
            row = await session.get(EpgOverrideRow, channel_id)
            if row is None:
                row = EpgOverrideRow(channel_id=channel_id)
                session.add(row)
            row.guide_id, row.source_id = guide_id, source_id
            await session.flush()
            return q.override_record(row)

    async def clear_override(self, channel_id: int) -> None:
        """Remove the channel's override (nothing happens if it has none)."""
        async with self._write(bump=True) as session:
            await session.execute(delete(EpgOverrideRow).where(EpgOverrideRow.channel_id == channel_id))

    async def list_overrides(self) -> list[EpgOverride]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(EpgOverrideRow).order_by(EpgOverrideRow.channel_id))).all()
            return [q.override_record(row) for row in rows]

    # -- imports --------------------------------------------------------------------------------

    async def begin_import(self, source_id: int) -> int:
        """Start an import of the source; returns its id (state ``running``, invisible to readers)."""
        async with self._write(bump=False) as session:
            await r.source_row(session, source_id)
            row = EpgImportRow(source_id=source_id, state=ImportState.RUNNING.value, started_at=self._now())
            session.add(row)
            await session.flush()
            return row.id

    async def add_programmes(self, import_id: int, source_id: int, rows: Sequence[tuple[int, Programme]]) -> None:
        """Store ``(our channel id, programme)`` pairs under a running import, in one short transaction.

        Pairs whose channel has been deleted meanwhile are dropped. Conflict if the import is not running.
        """
        if not rows:
            return
        values = [r.programme_values(import_id, source_id, channel_id, programme) for channel_id, programme in rows]
        async with self._write(bump=False) as session:
            await r.running_import(session, import_id, source_id)
            existing = await r.existing_channels(session, {value["channel_id"] for value in values})
            values = [value for value in values if value["channel_id"] in existing]
            if not values:
                return
            conn = await session.connection()
            await conn.execute(insert(_PROGRAMMES), values)
            bump = update(EpgImportRow).where(EpgImportRow.id == import_id)
            bump = bump.values(programmes=EpgImportRow.programmes + len(values))
            await session.execute(bump.execution_options(synchronize_session=False))

    async def finish_import(
        self, import_id: int, source_id: int, matches: Sequence[ChannelMatch], message: str
    ) -> None:
        """Make the import the source's guide, in one transaction, then delete the guide it replaced.

        ``matches`` (the mapping the import used) replace the source's stored matches; matches of channels
        deleted meanwhile are dropped, and a channel listed twice keeps its first match. Programmes stored for
        a channel that has no match here are kept with the import but never shown.
        """
        unique = r.unique_matches(matches, source_id)
        now = self._now()
        async with self._write(bump=True) as session:
            await r.running_import(session, import_id, source_id)
            existing = await r.existing_channels(session, set(unique))
            kept = [match for channel_id, match in unique.items() if channel_id in existing]
            active = select(EpgImportRow.id).where(
                EpgImportRow.source_id == source_id, EpgImportRow.state == ImportState.ACTIVE.value
            )
            old = list((await session.scalars(active)).all())
            await r.set_state(session, old, ImportState.REPLACED, now)
            await r.set_state(session, [import_id], ImportState.ACTIVE, now, channels_matched=len(kept))
            await session.execute(delete(_MATCHES).where(_MATCHES.c.source_id == source_id))
            if kept:
                conn = await session.connection()
                await conn.execute(insert(_MATCHES), [r.match_values(match, import_id) for match in kept])
            await r.set_source_status(session, source_id, now, ok=True, message=message)
        logger.info("EPG source %s: import %s is now active (%d channels)", source_id, import_id, len(kept))
        await self._purge(old)

    async def fail_import(self, import_id: int, source_id: int, message: str) -> None:
        """Record a failed import and delete what it stored; the source's active guide stays as it was.

        A no-op for an import that no longer exists (its source was deleted meanwhile). Conflict for an
        import that already finished successfully.
        """
        now = self._now()
        async with self._write(bump=False) as session:
            row = await session.get(EpgImportRow, r.lookup_id(import_id, "import"))
            if row is None or row.source_id != source_id:
                return
            if row.state == ImportState.ACTIVE.value:
                raise Conflict(f"import {import_id} already finished: it cannot fail now")
            await r.set_state(session, [import_id], ImportState.FAILED, now)
            await r.set_source_status(session, source_id, now, ok=False, message=message)
        logger.info("EPG source %s: import %s failed", source_id, import_id)
        await self._purge([import_id])

    async def cleanup_abandoned(self) -> int:
        """Delete the imports (and programmes) a crash left behind: running, replaced or failed ones.

        For start-up, before any import runs: an import still running in another process sharing the
        database would be deleted too. Returns how many imports were removed.
        """
        async with self._write(bump=False) as session:
            stmt = select(EpgImportRow.id, EpgImportRow.state).where(EpgImportRow.state != ImportState.ACTIVE.value)
            found = (await session.execute(stmt)).all()
            running = [import_id for import_id, state in found if state == ImportState.RUNNING.value]
            await r.set_state(session, running, ImportState.FAILED, self._now())
        ids = [import_id for import_id, _ in found]
        await self._purge(ids)
        if ids:
            logger.warning("removed %d EPG import(s) left unfinished by a previous run", len(ids))
        return len(ids)

    async def prune(self, before: datetime) -> int:
        """Delete programmes that ended before ``before`` (retention), in batches; returns how many."""
        total, cursor = 0, 0
        while True:
            stmt = (
                select(EpgProgrammeRow.id, EpgProgrammeRow.import_id)
                .where(EpgProgrammeRow.id > cursor, EpgProgrammeRow.stop < before)
                .order_by(EpgProgrammeRow.id)
                .limit(DELETE_BATCH)
            )
            async with self._db.session() as session:
                found = (await session.execute(stmt)).all()
            if not found:
                break
            cursor = found[-1][0]
            total += await self._delete_programmes(found)
        if total:
            async with self._write(bump=True):
                pass
            logger.info("pruned %d EPG programme(s) that ended before %s", total, before.isoformat())
        return total

    async def _delete_programmes(self, found: Sequence[tuple[int, int]]) -> int:
        per_import: dict[int, int] = {}
        for _, import_id in found:
            per_import[import_id] = per_import.get(import_id, 0) + 1
        deleted = 0
        async with self._write(bump=False) as session:
            conn = await session.connection()
            for chunk in q.chunks([programme_id for programme_id, _ in found]):
                result = await conn.execute(delete(_PROGRAMMES).where(_PROGRAMMES.c.id.in_(chunk)))
                deleted += result.rowcount
            for import_id, count in per_import.items():
                stmt = update(EpgImportRow).where(EpgImportRow.id == import_id)
                stmt = stmt.values(programmes=EpgImportRow.programmes - count)
                await session.execute(stmt.execution_options(synchronize_session=False))
        return deleted

    async def _purge(self, import_ids: Sequence[int]) -> None:
        """Delete the programmes of imports readers no longer see, in batches, then the import rows."""
        for import_id in import_ids:
            while True:
                batch = select(_PROGRAMMES.c.id).where(_PROGRAMMES.c.import_id == import_id).limit(DELETE_BATCH)
                async with self._write(bump=False) as session:
                    conn = await session.connection()
                    result = await conn.execute(
                        delete(_PROGRAMMES).where(_PROGRAMMES.c.id.in_(batch.scalar_subquery()))
                    )
                if result.rowcount < DELETE_BATCH:
                    break
        if import_ids:
            async with self._write(bump=False) as session:
                for chunk in q.chunks(list(import_ids)):
                    await session.execute(
                        delete(EpgImportRow).where(
                            EpgImportRow.id.in_(chunk), EpgImportRow.state != ImportState.ACTIVE.value
                        )
                    )

    # -- reads ----------------------------------------------------------------------------------

    async def matches(self, *, source_id: int | None = None) -> list[ChannelMatch]:
        """The match each channel takes its guide from (one per channel, by channel id).

        With ``source_id``: that source's stored matches instead, whether they win or not.
        """
        async with self._db.session() as session:
            if source_id is not None:
                return await q.source_matches(session, source_id)
            return await q.effective_matches(session)

    async def unmatched_channel_ids(self) -> list[int]:
        """Enabled channels that no enabled source with an active guide matches, by id."""
        async with self._db.session() as session:
            return await q.unmatched_channel_ids(session)

    async def programmes(
        self, channel_ids: Sequence[int], start: datetime, stop: datetime
    ) -> dict[int, list[ProgrammeRecord]]:
        """Programmes overlapping ``[start, stop)`` per requested channel (every id is a key), by start."""
        ids = list(dict.fromkeys(channel_ids))
        async with self._db.session() as session:
            await r.snapshot(session)
            return await q.programmes_between(session, ids, start, stop)

    async def upcoming(self, channel_id: int, now: datetime, limit: int) -> list[ProgrammeRecord]:
        """The programme on at ``now`` (if any) and the next ones: ``stop > now``, by start, at most ``limit``."""
        check_int(limit, "limit", low=1, high=UPCOMING_MAX)
        async with self._db.session() as session:
            await r.snapshot(session)
            return await q.upcoming(session, channel_id, now, limit)

    async def guide_version(self) -> int:
        """Changes whenever the stored guide changes (it is the catalog version)."""
        async with self._db.session() as session:
            return (await session.execute(select(CatalogState.version).where(CatalogState.id == 1))).scalar_one()


__all__ = ["DELETE_BATCH", "EpgStore"]
