"""A simulator whose clock runs ahead of it skips ticks and logs a warning."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from loomlite.clock import ManualClock
from simulators.base import Message, PeriodicSource, Simulator, Source
from simulators.truth import GroundTruth

START = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


class _Counter(PeriodicSource):
    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        return [Message("device.sensor.light.raw", {"lux": 1.0})]


class _Lamp(Simulator):
    name = "lamp"
    device_id = "lamp-1"

    def __init__(self) -> None:
        super().__init__()
        self.truth = GroundTruth(self.name, self.device_id)
        self.source: _Counter | None = None

    def sources(self, start: datetime, until: datetime) -> Sequence[Source]:
        self.source = _Counter("light", start, SECOND)
        return [self.source]


def test_late_fire_counts_missed_ticks() -> None:
    source = _Counter("light", START, SECOND)

    source.fire(START + 10 * SECOND)

    assert source.missed_ticks == 10
    assert source.next_due == START + 11 * SECOND


def test_on_time_fire_misses_nothing() -> None:
    source = _Counter("light", START, SECOND)

    source.fire(START)

    assert source.missed_ticks == 0
    assert source.next_due == START + SECOND


def test_lagging_simulator_warns(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    lamp = _Lamp()
    emitted: list[dict[str, Any]] = []

    async def slow_emit(topic: str, payload: dict[str, Any]) -> None:
        # Each upload takes ten virtual seconds, as under an accelerated
        # clock that runs faster than the pipeline.
        emitted.append(payload)
        clock.set(clock.now() + 10 * SECOND)

    async def run() -> None:
        await lamp.run(clock, slow_emit, until=START + 60 * SECOND)

    with caplog.at_level(logging.WARNING, logger="simulators.base"):
        anyio.run(run)

    source = lamp.source
    assert source is not None
    total = source.fired_ticks + source.missed_ticks
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert source.fired_ticks == len(emitted)
    assert source.missed_ticks > 40
    assert len(warnings) == 1
    assert f"simulator lamp skipped {source.missed_ticks} of {total}" in warnings[0]
    assert "lower --speed" in warnings[0]


def test_punctual_simulator_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)

    async def emit(topic: str, payload: dict[str, Any]) -> None:
        pass

    async def run() -> None:
        async with anyio.create_task_group() as group:
            lamp_run = functools.partial(
                _Lamp().run, clock, emit, until=START + 5 * SECOND
            )
            group.start_soon(lamp_run)
            for _ in range(5):
                await anyio.wait_all_tasks_blocked()
                clock.advance(SECOND)

    with caplog.at_level(logging.WARNING, logger="simulators.base"):
        anyio.run(run)

    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []
