"""Runtime: broker, topics, topology lint and supervisor behind one context manager."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
from anyio.abc import TaskGroup

from loomlite.broker.base import (
    Broker,
    BrokerState,
    BrokerStatistics,
    RecordMetadata,
    RetentionPolicy,
    TopicConfig,
)
from loomlite.clock import AcceleratedClock, Clock, ManualClock, SystemClock
from loomlite.contract.catalog import Catalog, TopicSpec
from loomlite.contract.envelope import Envelope
from loomlite.errors import ComponentError, LifecycleError
from loomlite.runtime.activity import Activity
from loomlite.runtime.codec import Codec, ContractCodec
from loomlite.runtime.component import Component
from loomlite.runtime.context import ComponentContext
from loomlite.runtime.loop_lag import LoopLag, LoopLagMonitor
from loomlite.runtime.profiles import load_settings
from loomlite.runtime.settings import LoomliteSettings
from loomlite.runtime.statistics import (
    ComponentCounters,
    ComponentState,
    ComponentStatistics,
)
from loomlite.runtime.supervisor import ComponentRunner, Supervisor
from loomlite.runtime.topology import Topology

__all__ = [
    "Runtime",
    "RuntimeState",
    "RuntimeStatistics",
    "SinkFactory",
    "create_clock",
]

logger = logging.getLogger(__name__)

# States in which a component has not yet reached, or is waiting to return
# to, its running state.
_NOT_STARTED = frozenset(
    {ComponentState.CREATED, ComponentState.STARTING, ComponentState.RESTARTING}
)

SinkFactory = Callable[[LoomliteSettings, Catalog], AbstractAsyncContextManager[Any]]
"""Builds the sink; the runtime enters it after the broker and exits it before."""

_T = TypeVar("_T")

# Real seconds that closing the sink and the broker may take after the drain.
_CLOSE_TIMEOUT = 10.0


class RuntimeState(enum.StrEnum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class RuntimeStatistics:
    """A snapshot of the broker and of every component."""

    state: RuntimeState
    broker: BrokerStatistics | None
    components: Mapping[str, ComponentStatistics]
    loop_lag: LoopLag | None = None
    """Event-loop lag since the start, or None before the runtime runs."""


def create_clock(settings: LoomliteSettings) -> Clock:
    """Return the clock that ``settings.clock`` names."""
    if settings.clock == "manual":
        if settings.start is None:
            raise ValueError("a manual clock needs settings.start")
        return ManualClock(settings.start)
    if settings.clock == "accelerated":
        return AcceleratedClock(settings.speed, start=settings.start)
    return SystemClock()


def retention_policy(spec: TopicSpec) -> RetentionPolicy:
    """Return the broker retention for a catalog topic."""
    return RetentionPolicy(
        max_age=spec.retention.max_age,
        max_records=spec.retention.max_records,
        max_bytes=spec.retention.max_bytes,
    )


class Runtime:
    """The pipeline in one process, used as an async context manager.

    Entering it lints the topology (TopologyError before anything runs),
    opens the broker unless one is given, creates every catalog topic, enters
    the sink from ``sink_factory`` if given, and starts the supervisor.
    Leaving it, on success, error or cancellation, drains the components and
    closes the sink and the broker. The runtime closes a broker passed in too.

    ``inputs`` names topics that code outside the components publishes to
    (tests, the HTTP gateway). ``catalog`` defaults to the contract's CATALOG.
    Components whose settings section has ``enabled = false`` do not run.
    """

    def __init__(
        self,
        settings_or_profile: LoomliteSettings | str | Path | None = None,
        *,
        components: Iterable[Component] = (),
        broker: Broker | None = None,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        inputs: Iterable[str] = (),
        codec: Codec | None = None,
        sink_factory: SinkFactory | None = None,
    ) -> None:
        if isinstance(settings_or_profile, LoomliteSettings):
            self.settings = settings_or_profile
        else:
            self.settings = load_settings(settings_or_profile)
        self.components = self._enabled(components)
        self.inputs = tuple(inputs)
        self.sink: Any = None
        self._broker = broker
        self._clock = clock
        self._catalog = catalog
        self._codec = codec
        self._sink_factory = sink_factory
        self._sink_context: AbstractAsyncContextManager[Any] | None = None
        self._supervisor: Supervisor | None = None
        self._topology: Topology | None = None
        self._task_group: TaskGroup | None = None
        self._activity = Activity()
        self._state = RuntimeState.CREATED
        self._stopped = anyio.Event()
        self.loop_lag = LoopLagMonitor()

    def _enabled(self, components: Iterable[Component]) -> tuple[Component, ...]:
        enabled = []
        for component in components:
            if self.settings.components.for_component(component.name).enabled:
                enabled.append(component)
            else:
                logger.info("component %r is disabled by settings", component.name)
        return tuple(enabled)

    # -- properties ---------------------------------------------------------

    @property
    def state(self) -> RuntimeState:
        return self._state

    @property
    def broker(self) -> Broker:
        return self._require(self._broker, "broker")

    @property
    def clock(self) -> Clock:
        return self._require(self._clock, "clock")

    @property
    def catalog(self) -> Catalog:
        return self._require(self._catalog, "catalog")

    @property
    def codec(self) -> Codec:
        return self._require(self._codec, "codec")

    @property
    def topology(self) -> Topology:
        return self._require(self._topology, "topology")

    @property
    def supervisor(self) -> Supervisor:
        return self._require(self._supervisor, "supervisor")

    def _require(self, value: _T | None, attribute: str) -> _T:
        if value is None:
            raise LifecycleError("runtime", self._state.value, f"use its {attribute}")
        return value

    # -- lifecycle ----------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not RuntimeState.CREATED:
            raise LifecycleError("runtime", self._state.value, "start it")
        self._state = RuntimeState.STARTING
        try:
            await self._start()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.stop()
                await self._exit_task_group()
            raise
        self._state = RuntimeState.RUNNING
        logger.info(
            "runtime started with %d component(s) on a %s broker with %d topic(s)",
            len(self.components),
            self.broker.kind,
            len(self.broker.topics()),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Shielded so that a cancelled body still drains and closes everything.
        with anyio.CancelScope(shield=True):
            await self.stop()
        await self._exit_task_group()

    async def _exit_task_group(self) -> None:
        """Leave the task group, which ``stop`` has emptied.

        The body's exception is not passed in: anyio would wrap it in an
        ExceptionGroup, and the caller should see it unchanged. The group
        still raises if a supervisor task crashed.
        """
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            await task_group.__aexit__(None, None, None)

    async def _start(self) -> None:
        self._catalog = self._catalog or _default_catalog()
        self._codec = self._codec or ContractCodec(self._catalog)
        topology = Topology.from_components(
            self.components, self._catalog, inputs=self.inputs
        )
        topology.lint().raise_for_errors()
        self._topology = topology

        self._clock = self._clock or create_clock(self.settings)
        if self._broker is None:
            self._broker = _open_broker(self.settings, self._clock)
        if self._broker.state is BrokerState.CREATED:
            await self._broker.start()
        await self._create_topics(self._broker, self._catalog)

        if self._sink_factory is not None:
            self._sink_context = self._sink_factory(self.settings, self._catalog)
            self.sink = await self._sink_context.__aenter__()

        self._supervisor = self._build_supervisor(topology)
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        await self._task_group.start(self._supervisor.run)
        self.loop_lag.start()

    async def _create_topics(self, broker: Broker, catalog: Catalog) -> None:
        for spec in catalog:
            config = TopicConfig(
                name=spec.name,
                partitions=spec.partitions,
                retention=retention_policy(spec),
            )
            await broker.create_topic(config)

    def _build_supervisor(self, topology: Topology) -> Supervisor:
        runners = []
        groups = topology.groups()
        for component in self.components:
            context = ComponentContext(
                component=component.name,
                publishes=topology.publications[component.name],
                catalog=topology.catalog,
                broker=self.broker,
                encoder=self.codec.encode,
                clock=self.clock,
                settings=self.settings,
                options=self.settings.components.for_component(component.name),
                counters=ComponentCounters(component.name),
                logger=logging.getLogger(type(component).__module__),
                runtime_statistics=self.statistics,
                activity=self._activity,
            )
            own = {
                group: routes
                for group, routes in groups.items()
                if routes[0].component is component
            }
            runners.append(
                ComponentRunner(
                    component,
                    own,
                    context,
                    self.codec,
                    self.settings.supervisor,
                    self._activity,
                )
            )
        return Supervisor(runners, self.settings.supervisor, self._activity)

    async def flush(self, timeout: float = 60.0, *, rounds: int = 3) -> None:
        """Let every component publish what it holds while the pipeline still
        runs, then wait until the published records are handled.

        A drain may release records whose handling fills another component's
        windows (steps feed activity classification), so the drain-and-wait
        round repeats ``rounds`` times. Call it once the inputs have stopped:
        ``stop`` drains again after the handlers stopped, and anything
        published then is not handled downstream.
        """
        self._require_running("flush")
        for _ in range(rounds):
            for component in self.components:
                await component.drain()
            await self.run_until_idle(timeout=timeout)

    async def stop(self) -> None:
        """Drain and close: stop taking input, let running handlers finish,
        call each component's ``drain``, close the sink, then close the
        broker. Safe to call more than once.

        Handlers and drains still running after ``supervisor.drain_timeout``
        seconds are cancelled, and the handlers' records stay uncommitted.
        """
        if self._state is RuntimeState.CREATED:
            raise LifecycleError("runtime", self._state.value, "stop it")
        if self._state in (RuntimeState.STOPPING, RuntimeState.STOPPED):
            await self._stopped.wait()
            return
        self._state = RuntimeState.STOPPING
        try:
            await self._close()
        finally:
            self._state = RuntimeState.STOPPED
            self._stopped.set()
            logger.info("runtime stopped")

    async def _close(self) -> None:
        timeout = self.settings.supervisor.drain_timeout + _CLOSE_TIMEOUT
        with anyio.move_on_after(timeout, shield=True) as deadline:
            if self._supervisor is not None:
                await self._supervisor.stop()
            self.loop_lag.stop()
            await self._close_sink()
            if self._broker is not None:
                await self._broker.close()
        if deadline.cancelled_caught:
            logger.error(
                "runtime shutdown timed out after %.1f s; the sink or broker may "
                "still be open",
                timeout,
            )

    async def _close_sink(self) -> None:
        context, self._sink_context = self._sink_context, None
        if context is None:
            return
        try:
            await context.__aexit__(None, None, None)
        except Exception as exc:
            logger.error(
                "closing the sink failed: %s: %s", type(exc).__name__, exc, exc_info=exc
            )

    # -- use ----------------------------------------------------------------

    async def publish(self, topic: str, message: Envelope) -> RecordMetadata:
        """Publish ``message`` to ``topic`` as external code (a test, the
        gateway) would. The message must be an instance of the topic's model."""
        self._require_running("publish")
        spec = self.catalog.get(topic)
        if not isinstance(message, spec.model):
            raise ComponentError(
                f"cannot publish a {type(message).__name__} to {spec.name!r}, "
                f"which expects {spec.model.__name__}"
            )
        return await self.broker.publish(
            spec.name,
            self.codec.encode(message),
            key=message.device_id,
            timestamp=message.recorded_at,
        )

    def statistics(self) -> RuntimeStatistics:
        """Return a snapshot of the broker and every component."""
        broker = None
        if self._broker is not None and self._broker.state is BrokerState.RUNNING:
            broker = self._broker.statistics()
        components = {} if self._supervisor is None else self._supervisor.statistics()
        started = self._state is not RuntimeState.CREATED
        loop_lag = self.loop_lag.snapshot() if started else None
        return RuntimeStatistics(
            state=self._state,
            broker=broker,
            components=components,
            loop_lag=loop_lag,
        )

    async def run_until_idle(self, timeout: float = 10.0) -> None:
        """Wait until every subscription has committed every record and no
        handler is running.

        The check runs again each time a dispatcher finishes a record or a
        component changes state, so there is no polling. Background ``run``
        loops are not waited for. Raises TimeoutError naming what is still
        busy after ``timeout`` real seconds, and ComponentError when a
        component has FAILED, since its records would never be consumed.
        """
        self._require_running("run until idle")
        busy: list[str] = []
        try:
            with anyio.fail_after(timeout):
                while True:
                    event = self._activity.event()
                    busy = await self._busy()
                    if not busy:
                        return
                    await event.wait()
        except TimeoutError:
            raise TimeoutError(
                f"the runtime was not idle after {timeout} s: {'; '.join(busy)}"
            ) from None

    def is_quiescent(self) -> bool:
        """Whether every component runs, no handler or busy block runs, and
        every consumer waits for records.

        This is a cheap check for callers that have just seen every task of
        the process blocked (``anyio.wait_all_tasks_blocked``): a consumer
        then waits only because its topics have nothing unread. Raises
        ComponentError when a component has FAILED.
        """
        self._require_running("check whether it is quiescent")
        for name, runner in self.supervisor.runners.items():
            if runner.state is ComponentState.FAILED:
                raise ComponentError(
                    f"component {name!r} has FAILED ({runner.counters.last_error}); "
                    "its records will not be consumed"
                )
            if runner.counters.in_flight:
                return False
            # A component still setting up may wait on a worker thread (a
            # store opening) before its first step on the clock.
            if runner.state in _NOT_STARTED:
                return False
            if not runner.groups:
                continue
            if runner.state is not ComponentState.RUNNING:
                return False
            if not all(dispatcher.waiting for dispatcher in runner.dispatchers):
                return False
        return True

    async def wait_for_activity(self, timeout: float) -> None:
        """Wait until a handler finishes a record or a component changes state,
        or ``timeout`` real seconds pass."""
        event = self._activity.event()
        with anyio.move_on_after(timeout):
            await event.wait()

    async def is_busy(self) -> bool:
        """Whether a subscription lags or a handler runs right now."""
        self._require_running("check whether it is busy")
        return bool(await self._busy())

    async def busy_reasons(self) -> list[str]:
        """Return what keeps the runtime from being idle, one sentence each,
        or an empty list. Raises ComponentError when a component has FAILED."""
        self._require_running("check what is busy")
        return await self._busy()

    async def _busy(self) -> list[str]:
        """Return why the runtime is busy, or an empty list when it is idle."""
        reasons: list[str] = []
        for name, runner in self.supervisor.runners.items():
            if runner.state is ComponentState.FAILED:
                raise ComponentError(
                    f"component {name!r} has FAILED ({runner.counters.last_error}); "
                    "its records will not be consumed"
                )
            if runner.counters.in_flight:
                reasons.append(f"component {name!r} has work in progress")
            if not runner.groups:
                continue  # a producer-only component has no records to consume
            if runner.state is not ComponentState.RUNNING:
                reason = f"component {name!r} is {runner.state.value}"
                if runner.counters.restarts and runner.counters.last_error:
                    # A component that keeps crashing in setup never runs, so
                    # its error is the reason the records are not consumed.
                    reason += f" after it crashed ({runner.counters.last_error})"
                reasons.append(reason)
                continue
            for dispatcher in runner.dispatchers:
                lag = await dispatcher.lag()
                if lag is None:
                    reasons.append(f"group {dispatcher.group!r} has not joined")
                elif lag:
                    reasons.append(f"group {dispatcher.group!r} lags by {lag}")
        return reasons

    def _require_running(self, action: str) -> None:
        if self._state is not RuntimeState.RUNNING:
            raise LifecycleError("runtime", self._state.value, action)


def _default_catalog() -> Catalog:
    from loomlite.contract import CATALOG

    return CATALOG


def _open_broker(settings: LoomliteSettings, clock: Clock) -> Broker:
    from loomlite.broker import open_broker

    return open_broker(
        settings.broker,
        clock=clock,
        state_dir=settings.state_dir,
        max_committed_bytes=settings.broker_max_committed_bytes,
    )
