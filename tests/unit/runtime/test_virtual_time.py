"""The virtual-time driver moves the clock only when no work is pending."""

from __future__ import annotations

import time
from datetime import timedelta

import anyio
import anyio.to_thread
import pytest

from loomlite.clock import ManualClock
from loomlite.contract.envelope import Envelope
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe
from loomlite.runtime.virtual_time import drive_virtual_time
from tests.unit.runtime.pipeline import (
    GPS,
    PLACE,
    START,
    GpsFix,
    Place,
    make_runtime,
    memory_broker,
)

pytestmark = pytest.mark.anyio


class SlowFixSource(Component):
    """Publishes one fix a minute, stamped after a call on a worker thread.

    When the clock does not move during the call, the stamp is the due minute.
    """

    name = "source"
    publishes = (GPS,)

    def __init__(self, count: int, *, mark_busy: bool) -> None:
        self.count = count
        self.mark_busy = mark_busy

    async def run(self) -> None:
        clock = self.context.clock
        for minute in range(self.count):
            await clock.sleep_until(START + timedelta(minutes=minute))
            if self.mark_busy:
                with self.context.busy():
                    await self._publish_after_thread()
            else:
                await self._publish_after_thread()
        await anyio.sleep_forever()

    async def _publish_after_thread(self) -> None:
        await anyio.to_thread.run_sync(time.sleep, 0.05)
        now = self.context.clock.now()
        fix = GpsFix(
            device_id="phone-1",
            recorded_at=now,
            received_at=now,
            latitude=1.0,
            longitude=2.0,
        )
        await self.context.publish(GPS, fix)


class Ticker(Component):
    """Sleeps on the clock every 10 seconds, giving the driver more deadlines."""

    name = "ticker"

    async def run(self) -> None:
        clock = self.context.clock
        while True:
            await clock.sleep(10)


class StampedPlaces(Component):
    """Keeps each fix's recorded_at and the clock's time when it was handled."""

    name = "places"
    publishes = (PLACE,)

    def __init__(self) -> None:
        self.handled: list[tuple[object, object]] = []

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        now = context.clock.now()
        self.handled.append((message.recorded_at, now))
        await context.publish(
            PLACE, Place.derive(message, received_at=now, name="somewhere")
        )


class PlaceSink(Component):
    name = "recorder"

    @subscribe(PLACE, stage="recording")
    async def on_place(self, message: Envelope, context: Context) -> None:
        pass


async def drive(*, mark_busy: bool) -> list[tuple[object, object]]:
    broker = memory_broker()
    clock = broker.clock
    assert isinstance(clock, ManualClock)
    places = StampedPlaces()
    components = (SlowFixSource(3, mark_busy=mark_busy), Ticker(), places, PlaceSink())
    async with make_runtime(*components, broker=broker, inputs=()) as runtime:
        await drive_virtual_time(runtime, clock, START + timedelta(minutes=3))
    return places.handled


EXPECTED = [(START + timedelta(minutes=minute),) * 2 for minute in range(3)]


async def test_busy_work_holds_the_clock() -> None:
    handled = await drive(mark_busy=True)

    assert handled == EXPECTED


async def test_unmarked_thread_work_races_the_clock() -> None:
    # Without the busy mark the driver finds every task blocked and nothing to
    # consume, so it moves the clock while the worker thread runs. The mark
    # prevents this failure.
    handled = await drive(mark_busy=False)

    assert handled != EXPECTED
