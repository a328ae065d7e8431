"""Big catalogues, fast: channels inserted in one statement, for load checks and benchmarks (S8, S9).

``await bulk_channels(services, 5000)`` makes 5,000 enabled channels (numbered, with EPG ids and logos,
spread over 20 live categories) in well under a second on SQLite, bumps the catalog version, and puts them
all in one bouquet; :func:`bulk_line` gives a line with that bouquet.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, update

from headend.catalog.models import CatalogState, ChannelRow, utcnow
from headend.catalog.records import CategoryKind
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.services import Services


async def bulk_channels(svc: Services, count: int, *, categories: int = 20) -> list[int]:
    """``count`` new channels, numbered after the highest existing number; returns their ids in order."""
    category_ids = [(await svc.channels.ensure_category(CategoryKind.LIVE, f"Bulk {i}")).id for i in range(categories)]
    profile = await svc.channels.get_profile_by_name("remux")
    now = utcnow()
    async with svc.db.write() as session:
        start = (await session.scalar(select(func.max(ChannelRow.number)))) or 0
        rows = [
            {
                "number": start + i + 1,
                "name": f"Bulk Channel {i}",
                "logo_url": f"http://logos.example/{i}.png",
                "category_id": category_ids[i % categories],
                "tvg_id": f"bulk{i}.example",
                "profile_id": profile.id,
                "on_demand": True,
                "enabled": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        await session.execute(insert(ChannelRow), rows)
        await session.execute(update(CatalogState).where(CatalogState.id == 1).values(version=CatalogState.version + 1))
        found = await session.scalars(
            select(ChannelRow.id).where(ChannelRow.number > start).order_by(ChannelRow.number)
        )
        return list(found.all())


async def bulk_line(svc: Services, channel_ids: list[int], username: str, password: str) -> int:
    """A line whose one package holds one bouquet with ``channel_ids``."""
    bouquet = await svc.subscribers.create_bouquet(f"bulk-{username}", channel_ids)
    package = await svc.subscribers.create_package(PackageInput(name=f"bulk-{username}", bouquet_ids=(bouquet.id,)))
    line, _ = await svc.subscribers.create_line(
        LineInput(username=username, password=password, package_ids=(package.id,))
    )
    return line.id
