"""Runtime services handed to components: publishing, clock, settings, logger."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loomlite.broker.base import Broker, Header, RecordMetadata
from loomlite.clock import Clock
from loomlite.contract.catalog import Catalog
from loomlite.contract.envelope import Envelope
from loomlite.errors import ComponentError, UnknownTopicError
from loomlite.runtime.activity import Activity
from loomlite.runtime.statistics import ComponentCounters

if TYPE_CHECKING:
    from loomlite.runtime.runtime import RuntimeStatistics
    from loomlite.runtime.settings import ComponentSettings, LoomliteSettings

__all__ = ["ComponentContext", "Context", "Output"]

Encoder = Callable[[Envelope], bytes]


@dataclass(frozen=True, slots=True)
class Output:
    """A message encoded for the broker, waiting to be published."""

    topic: str
    key: str
    value: bytes
    timestamp: datetime
    headers: tuple[Header, ...] = ()


class ComponentContext:
    """Services bound to one component for its whole life.

    ``publish`` sends a message at once. Handlers get a Context instead, whose
    ``publish`` waits until the handler has returned.

    ``runtime_statistics`` returns a snapshot of the broker and of every
    component, for components that report on the others, such as the
    monitor. It is None when the context was built outside a Runtime, and so
    is ``activity``, the runtime's wake-up signal that ``busy`` notifies.
    """

    def __init__(
        self,
        *,
        component: str,
        publishes: Mapping[str, type[Envelope]],
        catalog: Catalog,
        broker: Broker,
        encoder: Encoder,
        clock: Clock,
        settings: LoomliteSettings,
        options: ComponentSettings,
        counters: ComponentCounters,
        logger: logging.Logger,
        runtime_statistics: Callable[[], RuntimeStatistics] | None = None,
        activity: Activity | None = None,
    ) -> None:
        self.component = component
        self.catalog = catalog
        self.broker = broker
        self.clock = clock
        self.settings = settings
        self.options = options
        self.counters = counters
        self.runtime_statistics = runtime_statistics
        self.logger = logging.LoggerAdapter(logger, {"component": component})
        self._publishes = dict(publishes)
        self._encoder = encoder
        self._base_logger = logger
        self._activity = activity

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Mark work in progress outside any handler, such as a fetch cycle.

        While such a block is open the runtime is not quiescent, so a
        virtual-time run does not move its clock while the work waits on a
        worker thread (a database call, a durable publish). Leaving the
        block wakes ``Runtime.run_until_idle``, which may be waiting on it.
        """
        self.counters.in_flight += 1
        try:
            yield
        finally:
            self.counters.in_flight -= 1
            if self._activity is not None:
                self._activity.notify()

    def prepare(self, topic: str, message: Envelope) -> Output:
        """Check that the component may publish ``message`` to ``topic`` and encode it.

        Raises ComponentError when the topic is not in ``publishes`` or the
        message is not an instance of the topic's model.
        """
        canonical = self._resolve(topic)
        model = self._publishes[canonical]
        if not isinstance(message, model):
            raise ComponentError(
                f"component {self.component!r} published a "
                f"{type(message).__name__} to {canonical!r}, which expects "
                f"{model.__name__}"
            )
        return Output(
            topic=canonical,
            key=message.device_id,
            value=self._encoder(message),
            timestamp=message.recorded_at,
        )

    async def publish(self, topic: str, message: Envelope) -> RecordMetadata:
        """Publish ``message`` to ``topic`` now and return where it landed."""
        output = self.prepare(topic, message)
        metadata = await self.broker.publish(
            output.topic,
            output.value,
            key=output.key,
            headers=output.headers,
            timestamp=output.timestamp,
        )
        self.counters.messages_out += 1
        return metadata

    def message_logger(
        self, topic: str, message: Envelope | None
    ) -> logging.LoggerAdapter[logging.Logger]:
        """Return a logger whose records carry the component, topic and message ids."""
        extra: dict[str, Any] = {"component": self.component, "topic": topic}
        if message is not None:
            extra["trace_id"] = message.trace_id
            extra["message_id"] = message.message_id
        return logging.LoggerAdapter(self._base_logger, extra)

    def _resolve(self, topic: str) -> str:
        try:
            canonical = self.catalog.resolve(topic)
        except UnknownTopicError as exc:
            raise ComponentError(
                f"component {self.component!r} cannot publish to {topic!r}: {exc}"
            ) from exc
        if canonical not in self._publishes:
            declared = ", ".join(sorted(self._publishes)) or "none"
            raise ComponentError(
                f"component {self.component!r} published to {canonical!r}, which "
                f"it does not declare; add it to 'publishes' (declared: {declared})"
            )
        return canonical


class Context:
    """Services for one handler call.

    ``publish`` checks and encodes the message at once but only buffers it:
    the dispatcher publishes the buffered outputs after the handler returns
    and commits the input offset after the last output is stored.
    """

    def __init__(
        self,
        component: ComponentContext,
        topic: str,
        message: Envelope | None,
    ) -> None:
        self.component = component.component
        self.topic = topic
        self.clock = component.clock
        self.settings = component.settings
        self.options = component.options
        self.logger = component.message_logger(topic, message)
        self.outputs: list[Output] = []
        self._component = component

    async def publish(self, topic: str, message: Envelope) -> None:
        """Buffer ``message`` for ``topic``.

        Raises ComponentError when the component may not publish it there (see
        ComponentContext.prepare).
        """
        self.outputs.append(self._component.prepare(topic, message))
