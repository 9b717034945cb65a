"""The simulator interface and the loop that runs a simulator's sources.

A simulator owns a set of sources (GPS, battery, audio, ...). Each source
stores the time it is next due and returns its messages when it fires.
``run_sources`` runs them in one task: it sleeps on the clock until the
earliest due time, lets that source fire and sends its messages through
``emit``. One task and a fixed tie-break order make the output a pure
function of the seed and the clock's sequence of readings.
"""

from __future__ import annotations

import enum
import heapq
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel

from loomlite.clock import Clock, ManualClock
from loomlite.errors import LifecycleError
from simulators.truth import GroundTruth

__all__ = [
    "DayEvents",
    "Emit",
    "EventSource",
    "Message",
    "PeriodicSource",
    "Simulator",
    "SimulatorState",
    "Source",
    "TriggeredSource",
    "run_simulators",
    "run_sources",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

YIELD_EVERY = 64
"""Messages a simulator emits between two yields to the event loop."""

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Receives a canonical topic name and a payload as a production client sent it."""


@dataclass(frozen=True, slots=True)
class Message:
    """One payload and the canonical topic it is for."""

    topic: str
    payload: dict[str, Any]


class Source(ABC):
    """A part of a simulator that emits at times it chooses.

    ``next_due`` is the time of the next firing, or None when the source has
    nothing more to emit. ``fire`` is called once the clock reaches it and
    must move ``next_due`` forward.
    """

    name: str
    next_due: datetime | None

    @abstractmethod
    def fire(self, now: datetime) -> Iterable[Message]:
        """Return the messages due now and advance ``next_due``."""


class PeriodicSource(Source):
    """A source that fires every ``interval`` from ``start``.

    When the clock has run past several ticks at once (an accelerated clock
    under load), the missed ticks are skipped, as a phone's late timer would
    skip them, and counted in ``missed_ticks``.
    """

    def __init__(self, name: str, start: datetime, interval: timedelta) -> None:
        if interval <= timedelta(0):
            raise ValueError(
                f"interval of source {name!r} must be positive, got {interval!r}"
            )
        self.name = name
        self.interval = interval
        self.next_due: datetime | None = start
        self.fired_ticks = 0
        self.missed_ticks = 0

    def fire(self, now: datetime) -> Iterable[Message]:
        due = self.next_due
        assert due is not None
        messages = list(self.tick(due, now))
        following = due + self.interval
        if following <= now:
            missed = (now - following) // self.interval + 1
            following += missed * self.interval
            self.missed_ticks += missed
        self.fired_ticks += 1
        self.next_due = following
        return messages

    @abstractmethod
    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        """Return the messages of the tick scheduled at ``due``."""


class DayEvents(Generic[T]):
    """Timed events of consecutive simulated days, read in time order.

    ``events_of_day(index)`` returns day ``index``'s events as (time, item)
    pairs. Days are read lazily, so the stream has no end. It skips events
    at or before ``after``, and it looks at most ``lookahead_days`` days
    ahead for the next event.
    """

    def __init__(
        self,
        events_of_day: Callable[[int], Sequence[tuple[datetime, T]]],
        *,
        first_day: int,
        after: datetime,
        lookahead_days: int = 7,
    ) -> None:
        self._events_of_day = events_of_day
        self._day = first_day
        self._after = after
        self._lookahead_days = lookahead_days
        self._pending: list[tuple[datetime, T]] = []
        self._load(first_day)

    def peek(self) -> datetime | None:
        """Return the time of the next event, or None if none is near."""
        skipped = 0
        while not self._pending and skipped < self._lookahead_days:
            self._day += 1
            skipped += 1
            self._load(self._day)
        return self._pending[0][0] if self._pending else None

    def pop_due(self, now: datetime) -> list[tuple[datetime, T]]:
        """Remove and return every event at or before ``now``, in time order."""
        due = []
        while (moment := self.peek()) is not None and moment <= now:
            due.append(self._pending.pop(0))
        return due

    def _load(self, day: int) -> None:
        events = sorted(self._events_of_day(day), key=lambda event: event[0])
        self._pending = [event for event in events if event[0] > self._after]


class EventSource(Source, Generic[T]):
    """A source that fires at the times of a DayEvents stream."""

    def __init__(self, name: str, events: DayEvents[T]) -> None:
        self.name = name
        self.events = events
        self.next_due = events.peek()

    def fire(self, now: datetime) -> Iterable[Message]:
        messages: list[Message] = []
        for moment, item in self.events.pop_due(now):
            messages += self.handle(moment, item)
        self.next_due = self.events.peek()
        return messages

    @abstractmethod
    def handle(self, moment: datetime, item: T) -> Iterable[Message]:
        """Return the messages for ``item``, which happened at ``moment``."""


class TriggeredSource(Source):
    """A periodic source that also fires whenever a trigger event happens.

    Production's battery and network collectors read on a timer and again
    when the charge or connectivity state changes. A tick and a trigger at
    the same instant give one reading.
    """

    def __init__(
        self,
        name: str,
        start: datetime,
        interval: timedelta,
        triggers: DayEvents[Any],
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(
                f"interval of source {name!r} must be positive, got {interval!r}"
            )
        self.name = name
        self.interval = interval
        self.triggers = triggers
        self._tick_due = start
        self.next_due: datetime | None = self._earliest()

    def fire(self, now: datetime) -> Iterable[Message]:
        messages = list(self.read(now))
        if self._tick_due <= now:
            missed = (now - self._tick_due) // self.interval + 1
            self._tick_due += missed * self.interval
        self.triggers.pop_due(now)
        self.next_due = self._earliest()
        return messages

    @abstractmethod
    def read(self, now: datetime) -> Iterable[Message]:
        """Return the messages of one reading at ``now``."""

    def _earliest(self) -> datetime:
        trigger = self.triggers.peek()
        if trigger is None:
            return self._tick_due
        return min(self._tick_due, trigger)


class SimulatorState(enum.Enum):
    """The stage of a simulator's life. A simulator runs only once."""

    CREATED = "created"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Simulator(ABC):
    """A simulated device or account that emits production-shaped payloads.

    Subclasses set ``name``, ``device_id`` and ``truth`` and build their
    sources in ``sources(start, until)``.
    """

    name: str
    device_id: str
    truth: GroundTruth

    def __init__(self) -> None:
        self.state = SimulatorState.CREATED

    @abstractmethod
    def sources(self, start: datetime, until: datetime) -> Sequence[Source]:
        """Return the enabled sources for a run from ``start`` to ``until``."""

    def finish(self, until: datetime) -> None:  # noqa: B027
        """Complete the ground truth once the run reaches ``until``."""

    async def run(
        self,
        clock: Clock,
        emit: Emit,
        *,
        until: datetime,
        stop: anyio.Event | None = None,
    ) -> None:
        """Emit payloads from the clock's current time until ``until``.

        Returns once the clock reads ``until``, or as soon as ``stop`` is set;
        the ground truth then ends at the clock's time of the stop. A
        simulator runs once; a second call raises LifecycleError.
        """
        if self.state is not SimulatorState.CREATED:
            raise LifecycleError(
                f"simulator {self.name!r}", self.state.value, "run it again"
            )
        self.state = SimulatorState.RUNNING
        start = clock.now()
        logger.info(
            "simulator %s started", self.name, extra={"device_id": self.device_id}
        )
        try:
            sources = self.sources(start, until)
            end = await run_sources(sources, clock, emit, until=until, stop=stop)
            self.finish(end)
            _warn_missed_ticks(self.name, sources)
        except BaseException:
            self.state = SimulatorState.FAILED
            raise
        self.state = SimulatorState.FINISHED
        logger.info(
            "simulator %s finished at %s",
            self.name,
            end.isoformat(),
            extra={"device_id": self.device_id},
        )


def _warn_missed_ticks(simulator: str, sources: Sequence[Source]) -> None:
    periodic = [source for source in sources if isinstance(source, PeriodicSource)]
    missed = sum(source.missed_ticks for source in periodic)
    if not missed:
        return
    total = missed + sum(source.fired_ticks for source in periodic)
    logger.warning(
        "simulator %s skipped %d of %d tick(s) because the clock ran ahead of "
        "it, so it sent less data than the profile describes; lower --speed, "
        "or use --speed max, which moves the clock only as fast as the "
        "pipeline goes",
        simulator,
        missed,
        total,
    )


async def run_sources(
    sources: Sequence[Source],
    clock: Clock,
    emit: Emit,
    *,
    until: datetime,
    stop: anyio.Event | None = None,
) -> datetime:
    """Fire ``sources`` in due-time order until the clock reads ``until``.

    Sources due at the same instant fire in the order given. Nothing due at
    or after ``until`` fires. Setting ``stop`` ends the run at once: a sleep
    on the clock is cancelled and no further message is emitted, but the
    stop never cancels a message already passed to ``emit``. Returns the
    event time the run ended at: ``until``, or the clock's time when
    ``stop`` ended it first.
    """
    stop = stop or anyio.Event()
    sleep = _StoppableSleep(clock, stop)
    async with anyio.create_task_group() as group:
        group.start_soon(sleep.cancel_on_stop)
        await _fire_sources(sources, clock, emit, sleep, until=until, stop=stop)
        group.cancel_scope.cancel()
    if stop.is_set():
        return min(clock.now(), until)
    return until


class _StoppableSleep:
    """A sleep on the clock that the stop event cuts short.

    Only the sleep is cancelled, so that a stop never interrupts a publish
    half done; a cancellation from outside still reaches the whole loop.
    """

    def __init__(self, clock: Clock, stop: anyio.Event) -> None:
        self._clock = clock
        self._stop = stop
        self._scope: anyio.CancelScope | None = None

    async def until(self, moment: datetime) -> None:
        with anyio.CancelScope() as self._scope:
            await self._clock.sleep_until(moment)
        self._scope = None

    async def cancel_on_stop(self) -> None:
        await self._stop.wait()
        if self._scope is not None:
            self._scope.cancel()


async def _fire_sources(
    sources: Sequence[Source],
    clock: Clock,
    emit: Emit,
    sleep: _StoppableSleep,
    *,
    until: datetime,
    stop: anyio.Event,
) -> None:
    queue: list[tuple[datetime, int, Source]] = [
        (source.next_due, order, source)
        for order, source in enumerate(sources)
        if source.next_due is not None
    ]
    heapq.heapify(queue)
    # emit returns at once while the broker has room, so at --speed max a
    # simulator would otherwise hold the event loop through a whole day of
    # uploads. It yields after every YIELD_EVERY messages: a count rather
    # than a time, so that simulators side by side on a ManualClock emit in
    # the same order on every run.
    emitted = 0
    while queue and queue[0][0] < until:
        due, order, source = heapq.heappop(queue)
        await sleep.until(due)
        if stop.is_set():
            return
        for message in source.fire(clock.now()):
            if stop.is_set():
                return
            await emit(message.topic, message.payload)
            emitted += 1
            if emitted % YIELD_EVERY == 0:
                await anyio.lowlevel.checkpoint()
        if source.next_due is not None:
            heapq.heappush(queue, (source.next_due, order, source))
    await sleep.until(until)


async def run_simulators(
    simulators: Sequence[Simulator], clock: Clock, emit: Emit, *, until: datetime
) -> None:
    """Run ``simulators`` side by side until ``until``.

    On a ManualClock this also drives the clock: whenever every task is
    blocked, it moves the clock to the earliest sleeper's deadline. Raises
    RuntimeError when every task is blocked and nothing sleeps on the clock,
    because the run could then never finish.
    """
    if not isinstance(clock, ManualClock):
        async with anyio.create_task_group() as group:
            for simulator in simulators:
                group.start_soon(_run_one, simulator, clock, emit, until)
        return

    remaining = len(simulators)

    async def run_and_count(simulator: Simulator) -> None:
        nonlocal remaining
        try:
            await _run_one(simulator, clock, emit, until)
        finally:
            remaining -= 1

    stuck = 0
    async with anyio.create_task_group() as group:
        for simulator in simulators:
            group.start_soon(run_and_count, simulator)
        while True:
            await anyio.wait_all_tasks_blocked()
            if remaining == 0:
                break
            deadline = clock.next_deadline
            if deadline is None:
                stuck = remaining
                group.cancel_scope.cancel()
                break
            clock.set(deadline)
    if stuck:
        raise RuntimeError(
            f"{stuck} simulator(s) are blocked on something other than the "
            "clock, so the run cannot finish; check that emit does not wait "
            "forever"
        )


async def _run_one(
    simulator: Simulator, clock: Clock, emit: Emit, until: datetime
) -> None:
    await simulator.run(clock, emit, until=until)
