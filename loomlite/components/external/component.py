"""The external component: email, calendar, Hacker News and X likes fetchers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import anyio

from loomlite.components.external.cycle import CyclePublisher
from loomlite.components.external.dedup import DEDUP_FILE_NAME, ContentHashStore
from loomlite.components.external.fetchers import (
    FETCHER_NAMES,
    Fetcher,
    fetcher_settings,
    simulated_fetchers,
    simulation_anchor,
)
from loomlite.components.external.statistics import FetcherCounters, FetcherStatistics
from loomlite.components.intake import INGEST_STAGE, Intake
from loomlite.contract import error_topic
from loomlite.errors import ComponentError
from loomlite.runtime.component import Component
from loomlite.runtime.settings import ExternalSettings

__all__ = ["EXTERNAL_TOPICS", "ExternalComponent"]

logger = logging.getLogger(__name__)

EXTERNAL_TOPICS = (
    "external.email.events.raw",
    "external.calendar.events.raw",
    "external.hackernews.activity.raw",
    "external.twitter.liked.raw",
    # The X likes fetcher also requests a fetch of each liked post's page.
    "task.url.ingest",
)
"""The canonical topics the fetchers publish to."""


class ExternalComponent(Component):
    """Runs the email, calendar, Hacker News and X likes fetchers.

    The fetchers are simulated. Unless ``fetchers`` is given, ``setup`` builds
    the account simulators of ``simulators.fetchers`` from the profile's seed
    (see ``simulated_fetchers``). ``fetchers`` maps names in FETCHER_NAMES to
    objects with a ``fetch(now)`` method, for tests and other sources.

    Each fetcher enabled in its ``components.external.<name>`` section runs
    one cycle when the component starts, as production's fetchers did, then
    one every ``interval`` of the runtime clock. The content-hash store drops
    the messages of a cycle that were published before, in this run or an
    earlier one. The intake publishes the rest to their topics, and invalid
    ones to ``processing.errors.ingest``.
    """

    name = "external"
    publishes = (*EXTERNAL_TOPICS, error_topic(INGEST_STAGE))

    def __init__(self, fetchers: Mapping[str, Fetcher] | None = None) -> None:
        if fetchers is not None:
            unknown = sorted(set(fetchers) - set(FETCHER_NAMES))
            if unknown:
                raise ComponentError(
                    f"unknown fetcher name(s) {', '.join(map(repr, unknown))}; "
                    f"expected names from {', '.join(FETCHER_NAMES)}"
                )
        self._injected = None if fetchers is None else dict(fetchers)
        self._fetchers: dict[str, Fetcher] = {}
        self._counters = {name: FetcherCounters(name) for name in FETCHER_NAMES}
        self._store: ContentHashStore | None = None
        self._publisher: CyclePublisher | None = None
        self._settings = ExternalSettings()
        # The next due time of each running fetcher loop.
        self._due: dict[str, datetime] = {}
        self._running = False
        self._changed = anyio.Event()

    @property
    def dedup_path(self) -> Path:
        """The content-hash store in the runtime's state directory."""
        return self.context.settings.state_dir / DEDUP_FILE_NAME

    # -- lifecycle ----------------------------------------------------------

    async def setup(self) -> None:
        options = self.context.options
        if isinstance(options, ExternalSettings):
            self._settings = options
        self._fetchers = self._enabled_fetchers()
        store = ContentHashStore(self.dedup_path)
        await store.open()
        self._store = store
        self._publisher = CyclePublisher(self.context, Intake(self.context), store)

    def _enabled_fetchers(self) -> dict[str, Fetcher]:
        context = self.context
        fetchers = self._injected
        if fetchers is None:
            anchor = simulation_anchor(context.settings, context.clock.now())
            fetchers = simulated_fetchers(context.settings, anchor)
        enabled = {}
        for name, fetcher in fetchers.items():
            if fetcher_settings(self._settings, name).enabled:
                enabled[name] = fetcher
            else:
                context.logger.info("fetcher %r is disabled by settings", name)
        return enabled

    async def teardown(self) -> None:
        self._running = False
        self._due.clear()
        self._notify()
        store, self._store = self._store, None
        self._publisher = None
        if store is not None:
            await store.close()

    async def run(self) -> None:
        now = self.context.clock.now()
        self._due = {name: now for name in self._fetchers}
        self._running = True
        self._notify()
        async with anyio.create_task_group() as group:
            for name in self._fetchers:
                group.start_soon(self._loop, name, name=f"external:{name}")

    async def _loop(self, name: str) -> None:
        clock = self.context.clock
        interval = fetcher_settings(self._settings, name).interval
        while True:
            due = self._due[name]
            await clock.sleep_until(due)
            # A cycle waits on the dedup store's thread; marking it busy keeps
            # a virtual-time run from moving the clock before it publishes.
            with self.context.busy():
                await self._cycle(name)
            self._due[name] = _next_due(due, interval, clock.now())
            self._notify()

    async def _cycle(self, name: str) -> None:
        """Fetch once and publish what is new. A failing fetch is logged."""
        now = self.context.clock.now()
        counters = self._counters[name]
        try:
            messages = self._fetchers[name].fetch(now)
        except Exception as exc:
            counters.fetch_failures += 1
            self.context.logger.error(
                "fetch by %r at %s failed: %s: %s",
                name,
                now.isoformat(),
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            return
        counters.cycles += 1
        counters.last_fetch_at = now
        before = counters.snapshot()
        await self._require_publisher().publish(messages, counters, now)
        self._log_cycle(before, counters.snapshot())

    def _log_cycle(self, before: FetcherStatistics, after: FetcherStatistics) -> None:
        published = after.published - before.published
        rejected = after.rejected - before.rejected
        level = logging.INFO if published or rejected else logging.DEBUG
        self.context.logger.log(
            level,
            "fetch by %r: %d fetched, %d published, %d duplicate(s), %d rejected",
            after.name,
            after.fetched - before.fetched,
            published,
            after.duplicates - before.duplicates,
            rejected,
        )

    def _require_publisher(self) -> CyclePublisher:
        if self._publisher is None:
            raise ComponentError(
                "the external component has not been set up; run it in a Runtime"
            )
        return self._publisher

    # -- observation --------------------------------------------------------

    def statistics(self) -> dict[str, FetcherStatistics]:
        """Return each fetcher's counters since the component was created."""
        return {name: counters.snapshot() for name, counters in self._counters.items()}

    async def wait_for_fetches(self, timeout: float = 10.0) -> None:
        """Wait until every enabled fetcher has run each cycle that is due.

        A cycle is due when the runtime clock has reached its time, so with a
        ManualClock a test moves the clock and then waits here. Raises
        TimeoutError naming the fetchers still busy after ``timeout`` real
        seconds.
        """
        pending: list[str] = []
        try:
            with anyio.fail_after(timeout):
                while True:
                    changed = self._changed
                    pending = self._pending()
                    if not pending:
                        return
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"fetchers did not finish their due cycles within {timeout} s: "
                f"{', '.join(pending)}"
            ) from None

    def _pending(self) -> list[str]:
        if not self._running:
            return ["the component is not running"]
        now = self.context.clock.now()
        return [name for name, due in self._due.items() if due <= now]

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


def _next_due(due: datetime, interval: timedelta, now: datetime) -> datetime:
    """Return the first tick after ``now``.

    Ticks that the clock jumped over are skipped, so a late fetcher runs one
    cycle, not one per missed tick.
    """
    following = due + interval
    if following <= now:
        skipped = (now - following) // interval + 1
        following += skipped * interval
    return following
