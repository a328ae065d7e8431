"""Bouquets (ordered groups of channels) and packages (ordered groups of bouquets, with limits).

:class:`PackageMethods` is the half of :class:`~headend.catalog.subscribers.SubscriberStore` that edits
them; it shares the store's transaction (``_change``: catalog version bump, Conflict on a constraint).
Invariants: names are unique and non-empty; a bouquet's channels and a package's bouquets are kept in the
given order without repeats; every referenced channel / bouquet exists when the link is written; a
package still held by a line cannot be deleted (Conflict names how many lines hold it).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.db import Database
from headend.catalog.models import ChannelRow
from headend.catalog.records import UNSET, Unset, check_int
from headend.catalog.subscriber_models import (
    BouquetChannelRow,
    BouquetRow,
    LinePackageRow,
    PackageBouquetRow,
    PackageRow,
)
from headend.catalog.subscriber_records import (
    BouquetRecord,
    PackageInput,
    PackagePatch,
    PackageRecord,
    check_bouquet_name,
    check_ids,
)
from headend.catalog.subscriber_rows import (
    ID_MAX,
    bouquet_records,
    check_references,
    get_row,
    package_records,
    replace_links,
)
from headend.errors import Conflict, NotFound


class PackageMethods:
    """Bouquet and package CRUD; mixed into SubscriberStore, which provides ``_db`` and ``_change``."""

    _db: Database

    def _change(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- bouquets -------------------------------------------------------------------------------------

    async def create_bouquet(self, name: str, channel_ids: Sequence[int] = ()) -> BouquetRecord:
        """A new bouquet, placed last, holding ``channel_ids`` in that order."""
        check_bouquet_name(name)
        ids = check_ids(channel_ids, "channel_ids")
        async with self._change() as session:
            await _check_name_free(session, BouquetRow, name, "bouquet", exclude=None)
            await check_references(session, ChannelRow, ids, "channel_ids", "channel")
            last = await session.scalar(select(func.max(BouquetRow.position)))
            row = BouquetRow(name=name, position=0 if last is None else last + 1)
            session.add(row)
            await session.flush()
            await replace_links(session, BouquetChannelRow, ("bouquet_id", row.id), "channel_id", ids)
            return (await bouquet_records(session, [row]))[0]

    async def get_bouquet(self, bouquet_id: int) -> BouquetRecord:
        async with self._db.session() as session:
            return (await bouquet_records(session, [await get_row(session, BouquetRow, bouquet_id, "bouquet")]))[0]

    async def get_bouquet_by_name(self, name: str) -> BouquetRecord:
        async with self._db.session() as session:
            row = await session.scalar(select(BouquetRow).where(BouquetRow.name == name))
            if row is None:
                raise NotFound(f"no bouquet named {name[:80]!r}")
            return (await bouquet_records(session, [row]))[0]

    async def list_bouquets(self) -> list[BouquetRecord]:
        """All bouquets by position, then name."""
        async with self._db.session() as session:
            rows = (await session.scalars(select(BouquetRow).order_by(BouquetRow.position, BouquetRow.name))).all()
            return await bouquet_records(session, rows)

    async def update_bouquet(
        self, bouquet_id: int, *, name: str | Unset = UNSET, position: int | Unset = UNSET
    ) -> BouquetRecord:
        """Rename a bouquet and/or set its position (positions order bouquet listings; ties by name)."""
        async with self._change() as session:
            row = await get_row(session, BouquetRow, bouquet_id, "bouquet")
            if name is not UNSET:
                await _check_name_free(session, BouquetRow, check_bouquet_name(name), "bouquet", exclude=row.id)
                row.name = name
            if position is not UNSET:
                row.position = check_int(position, "position", low=0, high=ID_MAX)
            await session.flush()
            return (await bouquet_records(session, [row]))[0]

    async def delete_bouquet(self, bouquet_id: int) -> None:
        """Delete a bouquet; it leaves every package that held it (ON DELETE CASCADE)."""
        async with self._change() as session:
            await session.delete(await get_row(session, BouquetRow, bouquet_id, "bouquet"))

    async def set_bouquet_channels(self, bouquet_id: int, channel_ids: Sequence[int]) -> BouquetRecord:
        """Make the bouquet hold exactly these channels, in this order (repeats dropped)."""
        ids = check_ids(channel_ids, "channel_ids")
        async with self._change() as session:
            row = await get_row(session, BouquetRow, bouquet_id, "bouquet")
            await check_references(session, ChannelRow, ids, "channel_ids", "channel")
            await replace_links(session, BouquetChannelRow, ("bouquet_id", row.id), "channel_id", ids)
            return (await bouquet_records(session, [row]))[0]

    # -- packages -------------------------------------------------------------------------------------

    async def create_package(self, data: PackageInput) -> PackageRecord:
        async with self._change() as session:
            await _check_name_free(session, PackageRow, data.name, "package", exclude=None)
            await check_references(session, BouquetRow, data.bouquet_ids, "bouquet_ids", "bouquet")
            values = dataclasses.asdict(data)
            del values["bouquet_ids"]
            row = PackageRow(**values | {"allowed_outputs": list(data.allowed_outputs)})
            session.add(row)
            await session.flush()
            await replace_links(session, PackageBouquetRow, ("package_id", row.id), "bouquet_id", data.bouquet_ids)
            return (await package_records(session, [row]))[0]

    async def get_package(self, package_id: int) -> PackageRecord:
        async with self._db.session() as session:
            return (await package_records(session, [await get_row(session, PackageRow, package_id, "package")]))[0]

    async def get_package_by_name(self, name: str) -> PackageRecord:
        async with self._db.session() as session:
            row = await session.scalar(select(PackageRow).where(PackageRow.name == name))
            if row is None:
                raise NotFound(f"no package named {name[:80]!r}")
            return (await package_records(session, [row]))[0]

    async def list_packages(self) -> list[PackageRecord]:
        """All packages by name."""
        async with self._db.session() as session:
            rows = (await session.scalars(select(PackageRow).order_by(PackageRow.name, PackageRow.id))).all()
            return await package_records(session, rows)

    async def update_package(self, package_id: int, patch: PackagePatch) -> PackageRecord:
        """Change a package. Lines keep the limits they were created with; a disabled package stops
        granting its bouquets at once."""
        changes = patch.changes()
        async with self._change() as session:
            row = await get_row(session, PackageRow, package_id, "package")
            if "name" in changes:
                await _check_name_free(session, PackageRow, str(changes["name"]), "package", exclude=row.id)
            for name, value in changes.items():
                setattr(row, name, list(value) if isinstance(value, tuple) else value)
            await session.flush()
            return (await package_records(session, [row]))[0]

    async def delete_package(self, package_id: int) -> None:
        """Delete a package no line holds (Conflict otherwise: take it away from the lines first)."""
        async with self._change() as session:
            row = await get_row(session, PackageRow, package_id, "package")
            count = await session.scalar(
                select(func.count()).select_from(LinePackageRow).where(LinePackageRow.package_id == row.id)
            )
            if count:
                raise Conflict(f"package {row.name!r} is held by {count} line(s); take it away from them first")
            await session.delete(row)

    async def set_package_bouquets(self, package_id: int, bouquet_ids: Sequence[int]) -> PackageRecord:
        """Make the package hold exactly these bouquets, in this order (repeats dropped)."""
        ids = check_ids(bouquet_ids, "bouquet_ids")
        async with self._change() as session:
            row = await get_row(session, PackageRow, package_id, "package")
            await check_references(session, BouquetRow, ids, "bouquet_ids", "bouquet")
            await replace_links(session, PackageBouquetRow, ("package_id", row.id), "bouquet_id", ids)
            return (await package_records(session, [row]))[0]


async def _check_name_free(session: AsyncSession, model: Any, name: str, what: str, *, exclude: int | None) -> None:
    holder = await session.scalar(select(model.id).where(model.name == name))
    if holder is not None and holder != exclude:
        raise Conflict(f"a {what} named {name!r} already exists")


__all__ = ["PackageMethods"]
