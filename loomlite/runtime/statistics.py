"""Component states and the statistics snapshots the supervisor keeps."""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "BackendCounters",
    "BackendStatistics",
    "ComponentCounters",
    "ComponentState",
    "ComponentStatistics",
    "DurationWindow",
    "SubscriptionCounters",
    "SubscriptionStatistics",
]


class ComponentState(enum.StrEnum):
    """The lifecycle state of a supervised component."""

    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # crashed, waiting for its backoff delay
    STOPPED = "stopped"
    FAILED = "failed"  # crashed more often than the restart limit allows


class DurationWindow:
    """The most recent ``capacity`` durations, in seconds, for percentiles.

    Percentiles describe recent behaviour only: once the window is full, each
    new sample replaces the oldest one.
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity!r}")
        self._samples: deque[float] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def percentiles(self, *quantiles: float) -> tuple[float | None, ...]:
        """Return the nearest-rank percentile for each quantile in [0, 1].

        Each value is None while the window is empty.
        """
        ordered = sorted(self._samples)
        return tuple(_nearest_rank(ordered, quantile) for quantile in quantiles)


def _nearest_rank(ordered: list[float], quantile: float) -> float | None:
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be between 0 and 1, got {quantile!r}")
    if not ordered:
        return None
    rank = max(math.ceil(quantile * len(ordered)), 1)
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class SubscriptionStatistics:
    """Counters of one subscription of a component.

    ``last_message_at`` is the runtime clock's time when the subscription
    last took records from the broker, or None before the first.
    """

    topic: str
    stage: str
    group: str
    messages_in: int
    errors: int
    last_message_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ComponentStatistics:
    """A point-in-time snapshot of one supervised component.

    ``messages_in`` counts records taken from the broker, ``messages_out``
    messages the component published (error-topic messages excluded), and
    ``errors`` records that went to an error topic. Handler times are in
    seconds over the most recent handler calls, or None before the first call.
    """

    name: str
    state: ComponentState
    restarts: int
    messages_in: int
    messages_out: int
    errors: int
    in_flight: int
    handler_p50: float | None
    handler_p95: float | None
    handler_p99: float | None
    last_error: str | None
    subscriptions: tuple[SubscriptionStatistics, ...] = ()
    backends: tuple[BackendStatistics, ...] = ()


@dataclass(frozen=True, slots=True)
class BackendStatistics:
    """Counters of one stage's model backend and the state of its circuit.

    ``circuit`` is ``closed``, ``open`` or ``half_open``. ``rejected`` counts
    calls rejected while the circuit was open, ``timeouts`` calls abandoned
    after the stage's timeout, and ``busy_seconds`` the real time spent in
    completed calls.
    """

    stage: str
    backend: str
    circuit: str
    calls: int
    failures: int
    timeouts: int
    rejected: int
    circuit_opened: int
    busy_seconds: float
    max_call_seconds: float
    last_error: str | None


@dataclass(slots=True)
class SubscriptionCounters:
    """Mutable counters of one subscription; see SubscriptionStatistics."""

    topic: str
    stage: str
    group: str
    messages_in: int = 0
    errors: int = 0
    last_message_at: datetime | None = None

    def snapshot(self) -> SubscriptionStatistics:
        return SubscriptionStatistics(
            topic=self.topic,
            stage=self.stage,
            group=self.group,
            messages_in=self.messages_in,
            errors=self.errors,
            last_message_at=self.last_message_at,
        )


@dataclass(slots=True)
class BackendCounters:
    """Mutable counters of one backend; see BackendStatistics."""

    stage: str
    backend: str
    circuit: str = "closed"
    calls: int = 0
    failures: int = 0
    timeouts: int = 0
    rejected: int = 0
    circuit_opened: int = 0
    busy_seconds: float = 0.0
    max_call_seconds: float = 0.0
    last_error: str | None = None

    def snapshot(self) -> BackendStatistics:
        return BackendStatistics(
            stage=self.stage,
            backend=self.backend,
            circuit=self.circuit,
            calls=self.calls,
            failures=self.failures,
            timeouts=self.timeouts,
            rejected=self.rejected,
            circuit_opened=self.circuit_opened,
            busy_seconds=self.busy_seconds,
            max_call_seconds=self.max_call_seconds,
            last_error=self.last_error,
        )


class ComponentCounters:
    """Mutable counters of one component, updated by the supervisor and its
    dispatchers and read through ``snapshot``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = ComponentState.CREATED
        self.restarts = 0
        self.messages_in = 0
        self.messages_out = 0
        self.errors = 0
        self.in_flight = 0
        self.last_error: str | None = None
        self.handler_durations = DurationWindow()
        self.subscriptions: dict[tuple[str, str], SubscriptionCounters] = {}
        self.backends: dict[str, BackendCounters] = {}

    def subscription(self, topic: str, stage: str, group: str) -> SubscriptionCounters:
        """Return the counters of one subscription, creating them on first use."""
        key = (topic, group)
        counters = self.subscriptions.get(key)
        if counters is None:
            counters = SubscriptionCounters(topic=topic, stage=stage, group=group)
            self.subscriptions[key] = counters
        return counters

    def backend(self, stage: str, backend: str) -> BackendCounters:
        """Return the counters of a stage's backend, replacing another backend's."""
        counters = self.backends.get(stage)
        if counters is None or counters.backend != backend:
            counters = BackendCounters(stage=stage, backend=backend)
            self.backends[stage] = counters
        return counters

    def snapshot(self) -> ComponentStatistics:
        p50, p95, p99 = self.handler_durations.percentiles(0.50, 0.95, 0.99)
        return ComponentStatistics(
            name=self.name,
            state=self.state,
            restarts=self.restarts,
            messages_in=self.messages_in,
            messages_out=self.messages_out,
            errors=self.errors,
            in_flight=self.in_flight,
            handler_p50=p50,
            handler_p95=p95,
            handler_p99=p99,
            last_error=self.last_error,
            subscriptions=tuple(
                counters.snapshot() for counters in self.subscriptions.values()
            ),
            backends=tuple(counters.snapshot() for counters in self.backends.values()),
        )
