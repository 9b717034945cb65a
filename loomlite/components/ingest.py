"""The ingest component: device payloads into the broker.

It runs the simulated devices of the profile (phones, desktops) and passes
every payload they emit through the intake, which normalises, validates and
publishes it. The HTTP gateway, when enabled, calls the same intake.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import anyio

from loomlite.components.intake import (
    INGEST_STAGE,
    Intake,
    IntakeStatistics,
    raw_topics,
)
from loomlite.contract import error_topic
from loomlite.errors import MessageValidationError
from loomlite.runtime.component import Component
from simulators.base import Simulator

__all__ = ["DEVICE_TOPICS", "IngestComponent"]

logger = logging.getLogger(__name__)

# How long simulators run when no end is given: longer than any session.
_FOREVER = timedelta(days=3650)

# Raw topics written by devices and clients. The external component owns the
# fetcher topics under 'external.', except tweet screenshots, which clients
# post through the gateway's unified endpoint.
DEVICE_TOPICS: tuple[str, ...] = (
    *(topic for topic in raw_topics() if not topic.startswith("external.")),
    "external.twitter.images.raw",
)


class IngestComponent(Component):
    """Takes device payloads in through the intake.

    ``simulators`` run from the clock's time at start until ``until`` (or
    forever when None); ``finished`` is set once every simulator returned.
    """

    name = "ingest"
    publishes = (*DEVICE_TOPICS, error_topic(INGEST_STAGE))

    def __init__(
        self,
        simulators: Sequence[Simulator] = (),
        *,
        until: datetime | None = None,
    ) -> None:
        self.simulators = tuple(simulators)
        self.until = until
        self.finished = anyio.Event()
        self._intake: Intake | None = None

    @property
    def intake(self) -> Intake:
        """The intake; available once the component is set up."""
        if self._intake is None:
            self._intake = Intake(self.context)
        return self._intake

    def statistics(self) -> IntakeStatistics:
        return self.intake.statistics

    async def setup(self) -> None:
        self._intake = Intake(self.context)

    async def run(self) -> None:
        # A restart after a crash cannot rerun a finished simulator, and
        # rerunning a half-run one would repeat its payloads, so only
        # simulators that never started run here.
        pending = [s for s in self.simulators if s.state.value == "created"]
        clock = self.context.clock
        until = self.until or clock.now() + _FOREVER
        async with anyio.create_task_group() as group:
            for simulator in pending:
                group.start_soon(self._run_simulator, simulator, until)
        self.finished.set()

    async def _run_simulator(self, simulator: Simulator, until: datetime) -> None:
        await simulator.run(self.context.clock, self._emit, until=until)

    async def _emit(self, topic: str, payload: dict[str, Any]) -> None:
        # The intake logs a rejected payload and puts it on the ingest error
        # topic; the simulator goes on with its next payload.
        with contextlib.suppress(MessageValidationError):
            await self.intake.submit(topic, payload)
