"""Component.drain: called once per clean stop, before teardown, broker still open."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import pytest

from loomlite.broker import MemoryBroker
from loomlite.broker.base import Header, RecordMetadata
from loomlite.clock import ManualClock
from loomlite.contract import decode
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe
from tests.unit.runtime.pipeline import (
    GPS,
    PLACE,
    START,
    GpsFix,
    Place,
    build_catalog,
    fix,
    make_runtime,
)


class RecordingBroker(MemoryBroker):
    """A MemoryBroker that keeps every published value by topic.

    The runtime closes its broker on exit, so tests read what a drain
    published from here.
    """

    def __init__(self) -> None:
        super().__init__(clock=ManualClock(START))
        self.published: dict[str, list[bytes]] = {}

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        self.published.setdefault(topic, []).append(value)
        return await super().publish(
            topic, value, key=key, headers=headers, timestamp=timestamp
        )


class HoldingGeocoder(Component):
    """Holds every fix and publishes one place per fix only when drained."""

    name = "enrich"
    publishes = (PLACE,)

    def __init__(self, *, fail_drain: bool = False) -> None:
        self.held: list[GpsFix] = []
        self.calls: list[str] = []
        self.fail_drain = fail_drain

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        self.held.append(message)

    async def drain(self) -> None:
        self.calls.append("drain")
        if self.fail_drain:
            raise RuntimeError("drain failed on purpose")
        for message in self.held:
            place = Place.derive(
                message,
                received_at=self.context.clock.now(),
                name=f"held {message.latitude}",
            )
            await self.context.publish(PLACE, place)

    async def teardown(self) -> None:
        self.calls.append("teardown")


@pytest.mark.anyio
async def test_drain_publishes_on_stop() -> None:
    broker = RecordingBroker()
    component = HoldingGeocoder()

    async with make_runtime(component, broker=broker) as runtime:
        await runtime.publish(GPS, fix(10.0))
        await runtime.publish(GPS, fix(20.0))
        await runtime.run_until_idle(timeout=5)
        assert PLACE not in broker.published

    spec = build_catalog().get(PLACE)
    names = sorted(decode(spec, value).name for value in broker.published[PLACE])
    assert names == ["held 10.0", "held 20.0"]
    assert component.calls == ["drain", "teardown"]


@pytest.mark.anyio
async def test_drain_failure_still_tears_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    component = HoldingGeocoder(fail_drain=True)

    with caplog.at_level(logging.ERROR, logger="loomlite.runtime.supervisor"):
        async with make_runtime(component) as runtime:
            await runtime.run_until_idle(timeout=5)

    assert component.calls == ["drain", "teardown"]
    assert "drain of component 'enrich' failed" in caplog.text
    assert "drain failed on purpose" in caplog.text


@pytest.mark.anyio
async def test_base_drain_does_nothing() -> None:
    class Plain(Component):
        name = "plain"

    assert await Plain().drain() is None
