"""The fetchers the external component runs: simulated accounts by default.

loomlite reaches no real mailbox, calendar or social site. Each fetcher is an
account simulator from ``simulators.fetchers`` whose ``fetch`` returns what
production's fetcher published in one cycle, in production's nested shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Protocol

from loomlite.runtime.settings import (
    ExternalSettings,
    FetcherSettings,
    LoomliteSettings,
)
from simulators.fetchers import (
    CalendarAccount,
    EmailAccount,
    FetchedMessage,
    HackerNewsFavorites,
    XLikes,
)

__all__ = [
    "FETCHER_NAMES",
    "Fetcher",
    "fetcher_settings",
    "simulated_fetchers",
    "simulation_anchor",
]

FETCHER_NAMES = ("email", "calendar", "hackernews", "x_likes")
"""Fetcher names, which are also their sections in ``components.external``."""


class Fetcher(Protocol):
    """Anything that returns one fetch cycle's messages for a clock time."""

    def fetch(self, now: datetime) -> Sequence[FetchedMessage]: ...


def fetcher_settings(settings: ExternalSettings, name: str) -> FetcherSettings:
    """Return the section of fetcher ``name``. Raises KeyError for other names."""
    if name not in FETCHER_NAMES:
        raise KeyError(name)
    section: FetcherSettings = getattr(settings, name)
    return section


def simulation_anchor(settings: LoomliteSettings, now: datetime) -> datetime:
    """Return the time the simulated accounts count their items from.

    It is ``settings.start`` when set, else midnight UTC of ``now``. A fixed
    anchor gives a restarted process the same accounts, and so the same
    items, as the run before it.
    """
    if settings.start is not None:
        return settings.start
    today = now.astimezone(UTC).date()
    return datetime.combine(today, time(0), tzinfo=UTC)


def simulated_fetchers(
    settings: LoomliteSettings, anchor: datetime
) -> dict[str, Fetcher]:
    """Build the four account simulators from the profile's seed."""
    seed = settings.seed
    external = settings.components.external
    return {
        "email": EmailAccount(
            seed=seed, interval=external.email.interval, start=anchor
        ),
        "calendar": CalendarAccount(
            seed=seed, interval=external.calendar.interval, start=anchor
        ),
        "hackernews": HackerNewsFavorites(
            seed=seed, interval=external.hackernews.interval, start=anchor
        ),
        "x_likes": XLikes(seed=seed, interval=external.x_likes.interval, start=anchor),
    }
