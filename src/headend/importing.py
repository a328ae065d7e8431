"""Import an operator's M3U of sources into the catalog (``headend channel import-m3u``).

Invariants:
* One entry = one source. An entry whose channel name already exists adds its URL to that channel as the
  next (backup) source, unless the channel already has that URL: re-importing the same file changes nothing.
* Every entry is validated like a source typed on the command line (scheme allow-list, no control
  characters); a bad entry is reported with its line number and the rest of the file still imports.
* ``dry_run`` validates everything and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from headend.catalog.channels import ChannelStore
from headend.catalog.records import CHANNEL_NAME_MAX, ChannelInput, SourceInput
from headend.errors import Conflict, HeadendError, ValidationError
from headend.ingest.sources import SourceKind, parse_source
from headend.playlists.m3u_parse import M3uEntry, ParseProblem


@dataclass(slots=True)
class ImportReport:
    entries: int = 0
    channels_created: int = 0
    sources_added: int = 0
    unchanged: int = 0
    problems: list[ParseProblem] = field(default_factory=list)


def source_of(entry: M3uEntry) -> SourceInput:
    spec = parse_source(entry.url)
    agent = entry.user_agent if spec.kind in (SourceKind.HTTP, SourceKind.HLS) else ""
    return SourceInput(kind=spec.kind, url=spec.url, label=spec.label, user_agent=agent)


def channel_of(entry: M3uEntry, category_id: int | None) -> ChannelInput:
    name = entry.name.strip()
    if not name:
        raise ValidationError("entry has no channel name (#EXTINF title or tvg-name)", field="name")
    chno = entry.attributes.get("tvg-chno", "")
    number = int(chno) if chno.isdigit() and 0 < int(chno) < 2**31 else None
    logo = entry.attributes.get("tvg-logo", "")
    return ChannelInput(
        name=name[:CHANNEL_NAME_MAX],
        number=number,
        tvg_id=entry.attributes.get("tvg-id", ""),
        logo_url=logo if logo.startswith(("http://", "https://")) else "",
        category_id=category_id,
    )


class Importer:
    def __init__(self, store: ChannelStore, *, dry_run: bool = False) -> None:
        self._store = store
        self._dry_run = dry_run
        self._by_name: dict[str, int] = {}
        self._urls: dict[int, set[str]] = {}
        self._categories: dict[str, int] = {}
        self.report = ImportReport()

    async def run(
        self, items: Iterable[M3uEntry | ParseProblem], progress: Callable[[ImportReport], None] | None = None
    ) -> ImportReport:
        self._by_name = {c.name: c.id for c in await self._store.list_channels()}
        for item in items:
            if isinstance(item, ParseProblem):
                self.report.problems.append(item)
                continue
            self.report.entries += 1
            try:
                await self._one(item)
            except HeadendError as exc:
                self.report.problems.append(ParseProblem(item.line, exc.message))
            if progress is not None and self.report.entries % 100 == 0:
                progress(self.report)
        return self.report

    async def _one(self, entry: M3uEntry) -> None:
        source = source_of(entry)
        channel = channel_of(entry, None)
        existing = self._by_name.get(channel.name)
        if existing is not None:
            await self._add_backup(existing, source)
            return
        if self._dry_run:
            self._by_name[channel.name] = -1
            self.report.channels_created += 1
            return
        category = await self._category(entry.group)
        try:
            record = await self._store.create_channel(channel_of(entry, category))
        except Conflict:  # the number is taken: keep the channel, drop the number
            record = await self._store.create_channel(channel_of(_without_number(entry), category))
        await self._store.add_source(record.id, source)
        self._by_name[record.name] = record.id
        self._urls[record.id] = {source.url}
        self.report.channels_created += 1

    async def _add_backup(self, channel_id: int, source: SourceInput) -> None:
        if channel_id not in self._urls:
            known = [] if channel_id < 0 else await self._store.list_sources(channel_id)
            self._urls[channel_id] = {s.spec.url for s in known}
        if source.url in self._urls[channel_id]:
            self.report.unchanged += 1
            return
        if not self._dry_run:
            await self._store.add_source(channel_id, source)
        self._urls[channel_id].add(source.url)
        self.report.sources_added += 1

    async def _category(self, group: str) -> int | None:
        group = group.strip()
        if not group:
            return None
        if group not in self._categories:
            self._categories[group] = (await self._store.ensure_category("live", group[:200])).id
        return self._categories[group]


def _without_number(entry: M3uEntry) -> M3uEntry:
    attributes = {k: v for k, v in entry.attributes.items() if k != "tvg-chno"}
    return M3uEntry(entry.line, entry.name, entry.url, attributes, entry.group, entry.user_agent)
