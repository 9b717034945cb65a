"""The ingest component: device payloads into the broker.

It runs the simulated devices of the profile (phones, desktops) and passes
every payload they emit through the intake, which normalises, validates and
publishes it. The HTTP gateway, when ``http.enabled`` is set, runs in the
same component and calls the same intake.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio

from loomlite.broker.base import BrokerState
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

if TYPE_CHECKING:
    from loomlite.gateway.server import Gateway
    from loomlite.sink import Sink

__all__ = ["DEVICE_TOPICS", "GATEWAY_TOPICS", "IngestComponent"]

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

# Topics that only the gateway writes: documents, and the fetcher topics that
# production's unified endpoint accepted from clients.
GATEWAY_TOPICS: tuple[str, ...] = (
    "task.document.ingest",
    "task.url.ingest",
    "external.email.events.raw",
    "external.calendar.events.raw",
    "external.twitter.liked.raw",
)


class IngestComponent(Component):
    """Takes device payloads in through the intake.

    ``simulators`` run from the clock's time at start until ``until`` (or
    forever when None); ``finished`` is set once every simulator returned.
    ``stop_inputs`` ends the simulators early, at the clock's current time.
    ``http`` declares the topics that only the gateway writes; the gateway
    itself runs when the settings' ``http.enabled`` is set too. ``gateway``
    is the HTTP gateway once ``setup`` started it, and None otherwise.
    ``sink_source`` returns the running sink that the gateway's database
    endpoints use, such as ``PersistComponent.running_sink``; set it before
    the runtime starts.
    """

    name = "ingest"
    publishes = (*DEVICE_TOPICS, error_topic(INGEST_STAGE))

    def __init__(
        self,
        simulators: Sequence[Simulator] = (),
        *,
        until: datetime | None = None,
        http: bool = False,
    ) -> None:
        self.simulators = tuple(simulators)
        self.until = until
        self.http = http
        if http:
            self.publishes = (
                *DEVICE_TOPICS,
                *GATEWAY_TOPICS,
                error_topic(INGEST_STAGE),
            )
        self.finished = anyio.Event()
        self._inputs_stopped = anyio.Event()
        self.gateway: Gateway | None = None
        self.sink_source: Callable[[], Sink | None] | None = None
        self._intake: Intake | None = None

    @property
    def intake(self) -> Intake:
        """The intake; available once the component is set up."""
        if self._intake is None:
            self._intake = Intake(self.context)
        return self._intake

    def stop_inputs(self) -> None:
        """Stop every simulator at once, so that nothing new enters the broker.

        The HTTP gateway goes on serving until the runtime stops.
        """
        if not self._inputs_stopped.is_set():
            logger.info("stopping the simulators")
        self._inputs_stopped.set()

    def statistics(self) -> IntakeStatistics:
        return self.intake.statistics

    async def setup(self) -> None:
        self._intake = Intake(self.context)
        if not self.context.settings.http.enabled:
            return
        if not self.http:
            # The topology was built without the gateway's topics, so the
            # gateway cannot run. The settings and the caller disagree.
            logger.error(
                "http.enabled is set but the ingest component was built "
                "without http=True, so the HTTP gateway does not start"
            )
            return
        self._open_gateway(self._intake)

    def _open_gateway(self, intake: Intake) -> None:
        # Imported here so that a run without the gateway does not pay for
        # importing FastAPI and uvicorn at start.
        from loomlite.gateway.auth import resolve_api_key
        from loomlite.gateway.server import Gateway

        settings = self.context.settings
        if self.gateway is None:
            api_key, generated = resolve_api_key(settings)
            if generated:
                logger.warning(
                    "api_key is not set, so the HTTP gateway generated a key; "
                    "set LOOMLITE_API_KEY to choose one"
                )
            self.gateway = Gateway(settings.http, api_key=api_key)
        broker = self.context.broker
        self.gateway.open(
            intake,
            self.context.clock,
            self.context.catalog,
            ready=lambda: broker.state is BrokerState.RUNNING,
            sink=self.sink_source,
            statistics=self.context.runtime_statistics,
        )

    async def teardown(self) -> None:
        if self.gateway is not None:
            self.gateway.close()

    async def run(self) -> None:
        # A restart after a crash cannot rerun a finished simulator, and
        # rerunning a half-run one would repeat its payloads, so only
        # simulators that never started run here.
        pending = [s for s in self.simulators if s.state.value == "created"]
        clock = self.context.clock
        until = self.until or clock.now() + _FOREVER
        if self.gateway is None:
            await self._run_simulators(pending, until)
            return
        async with anyio.create_task_group() as group:
            group.start_soon(self.gateway.serve)
            # The gateway goes on serving after the simulators finished,
            # until the runtime stops and cancels this loop.
            await self._run_simulators(pending, until)

    async def _run_simulators(self, pending: list[Simulator], until: datetime) -> None:
        async with anyio.create_task_group() as group:
            for simulator in pending:
                group.start_soon(self._run_simulator, simulator, until)
        self.finished.set()

    async def _run_simulator(self, simulator: Simulator, until: datetime) -> None:
        await simulator.run(
            self.context.clock, self._emit, until=until, stop=self._inputs_stopped
        )

    async def _emit(self, topic: str, payload: dict[str, Any]) -> None:
        # The intake logs a rejected payload and puts it on the ingest error
        # topic; the simulator goes on with its next payload.
        # A durable broker commits each publish on a worker thread; the busy
        # mark keeps a virtual-time run from moving the clock meanwhile.
        with contextlib.suppress(MessageValidationError), self.context.busy():
            await self.intake.submit(topic, payload)
