"""The external component: simulated email, calendar, Hacker News and X likes
fetchers whose items are published once, across cycles and restarts."""

from loomlite.components.external.component import EXTERNAL_TOPICS, ExternalComponent
from loomlite.components.external.dedup import DEDUP_FILE_NAME, ContentHashStore
from loomlite.components.external.fetchers import (
    FETCHER_NAMES,
    Fetcher,
    simulated_fetchers,
)
from loomlite.components.external.statistics import FetcherStatistics

__all__ = [
    "DEDUP_FILE_NAME",
    "EXTERNAL_TOPICS",
    "FETCHER_NAMES",
    "ContentHashStore",
    "ExternalComponent",
    "Fetcher",
    "FetcherStatistics",
    "simulated_fetchers",
]
