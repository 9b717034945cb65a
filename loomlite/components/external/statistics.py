"""Counters of each fetcher of the external component, and their snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["FetcherCounters", "FetcherStatistics"]


@dataclass(frozen=True, slots=True)
class FetcherStatistics:
    """A snapshot of one fetcher's counters since the component was created.

    ``fetched`` counts every message the fetcher returned, and each of them
    is counted once more in one of four counters. ``duplicates`` were
    published before, in this run or an earlier one. ``published`` went to
    their topic and ``rejected`` to the ingest error topic.
    ``skipped_invalid`` carried a content hash that was rejected earlier in
    this process, so they were not sent again.

    ``unhashed`` counts the published messages that had no content hash and
    for which none could be computed, so nothing stops them from being
    published again. ``fetch_failures`` counts cycles whose fetch raised.
    """

    name: str
    cycles: int
    fetched: int
    duplicates: int
    published: int
    rejected: int
    skipped_invalid: int
    unhashed: int
    fetch_failures: int
    last_fetch_at: datetime | None


@dataclass(slots=True)
class FetcherCounters:
    """Mutable counters of one fetcher, described in FetcherStatistics."""

    name: str
    cycles: int = 0
    fetched: int = 0
    duplicates: int = 0
    published: int = 0
    rejected: int = 0
    skipped_invalid: int = 0
    unhashed: int = 0
    fetch_failures: int = 0
    last_fetch_at: datetime | None = None

    def snapshot(self) -> FetcherStatistics:
        return FetcherStatistics(
            name=self.name,
            cycles=self.cycles,
            fetched=self.fetched,
            duplicates=self.duplicates,
            published=self.published,
            rejected=self.rejected,
            skipped_invalid=self.skipped_invalid,
            unhashed=self.unhashed,
            fetch_failures=self.fetch_failures,
            last_fetch_at=self.last_fetch_at,
        )
