"""The dispatcher: consumes one consumer group of a component and calls its handlers.

Delivery is at least once. For each record the dispatcher decodes the value,
calls the handler and publishes the handler's buffered outputs. It commits
the offsets once every record of a fetch is handled, or the records handled so
far when a stop interrupts the fetch. A record that fails (bad value, handler
error, an output that cannot be published) goes to its stage's error topic
before the commit. When even the error topic cannot be written, the dispatcher
raises, the supervisor restarts the component, and every uncommitted record of
that fetch is delivered again, so handlers may see a record twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass

import anyio

from loomlite.broker.base import Consumer, Record, TopicPartition
from loomlite.contract.envelope import Envelope
from loomlite.errors import BrokerError, ComponentError, MessageValidationError
from loomlite.runtime.activity import Activity
from loomlite.runtime.codec import Codec
from loomlite.runtime.context import ComponentContext, Context, Output
from loomlite.runtime.failure import build_processing_error
from loomlite.runtime.settings import SupervisorSettings
from loomlite.runtime.timeslice import TimeSlice
from loomlite.runtime.topology import Route

__all__ = ["Dispatcher", "OutputPublishError"]

logger = logging.getLogger(__name__)


class OutputPublishError(Exception):
    """A handler's output could not be published after every attempt."""

    def __init__(self, topic: str, attempts: int, cause: BaseException) -> None:
        self.topic = topic
        self.attempts = attempts
        self.cause = cause
        super().__init__(
            f"publishing an output to {topic!r} failed after {attempts} "
            f"attempt(s): {type(cause).__name__}: {cause}"
        )


@dataclass(frozen=True, slots=True)
class _Input:
    """A record taken from the broker and its message, or None if it did not decode."""

    record: Record
    message: Envelope | None


class Dispatcher:
    """Runs the routes of one consumer group: fetch, handle, publish, commit."""

    def __init__(
        self,
        group: str,
        routes: Sequence[Route],
        context: ComponentContext,
        codec: Codec,
        settings: SupervisorSettings,
        activity: Activity,
    ) -> None:
        self.group = group
        self.routes = {route.topic: route for route in routes}
        self.context = context
        self.ready = anyio.Event()
        # True while the dispatcher waits in fetch. When every task of the
        # process is blocked, a waiting dispatcher has no record to read.
        self.waiting = False
        self._codec = codec
        self._settings = settings
        self._activity = activity
        self._consumer: Consumer | None = None
        self._stopping = False
        self._fetch_scope = anyio.CancelScope()
        # fetch returns at once while records wait, so a backlog would
        # otherwise hold the event loop until it is drained.
        self._slice = TimeSlice()
        self._counters = {
            route.topic: context.counters.subscription(
                route.topic, route.subscription.stage, group
            )
            for route in routes
        }

    # -- lifecycle ----------------------------------------------------------

    async def run(self) -> None:
        """Consume until ``stop``. Raises when the broker or the error topic fails."""
        first = next(iter(self.routes.values()))
        consumer = self.context.broker.consumer(
            self.group,
            list(self.routes),
            offset_reset=first.subscription.offset_reset,
        )
        async with consumer:
            self._consumer = consumer
            self.ready.set()
            self._activity.notify()
            try:
                await self._consume(consumer)
            finally:
                self._consumer = None

    def stop(self) -> None:
        """Stop taking new records. The record being handled still finishes.

        Records fetched but not yet started stay uncommitted, so the group
        reads them again at its next start.
        """
        self._stopping = True
        self._fetch_scope.cancel()

    async def lag(self) -> int | None:
        """Return the number of uncommitted records, or None before the consumer joins.

        Lag is the broker's end offset minus the committed offset, or minus
        the consumer's position while the group has committed nothing.
        """
        consumer = self._consumer
        if consumer is None:
            return None
        broker = self.context.broker
        total = 0
        for partition in consumer.assignment():
            committed = await consumer.committed(partition)
            start = consumer.position(partition) if committed is None else committed
            end = broker.end_offset(partition.topic, partition.partition)
            total += max(end - start, 0)
        return total

    # -- consuming ----------------------------------------------------------

    async def _consume(self, consumer: Consumer) -> None:
        while not self._stopping:
            records = await self._fetch(consumer)
            if records is None:
                return
            handled = await self._handle_fetched(records)
            await self._commit(consumer, handled)
            self._activity.notify()

    async def _handle_fetched(self, records: Sequence[Record]) -> list[Record]:
        """Handle the records of one fetch and return those that were handled.

        A stop request ends the loop early. The records not handled stay
        uncommitted, so the group reads them again at its next start.
        """
        by_topic: dict[str, list[Record]] = {}
        for record in records:
            by_topic.setdefault(record.topic, []).append(record)
        handled: list[Record] = []
        for topic, batch in by_topic.items():
            route = self.routes[topic]
            if self._stopping:
                break
            if route.subscription.batch:
                with self._in_flight():
                    await self._handle_batch(route, batch)
                handled.extend(batch)
                await self._share_loop()
                continue
            for record in batch:
                if self._stopping:
                    break
                with self._in_flight():
                    await self._handle_one(route, record)
                handled.append(record)
                await self._share_loop()
        return handled

    async def _share_loop(self) -> None:
        # The records of this fetch are not committed yet, and before the
        # group's first commit its lag counts from the fetch position. So the
        # yield counts as work in flight, and run_until_idle waits for it.
        if self._slice.expired():
            with self._in_flight():
                await self._slice.checkpoint()

    async def _fetch(self, consumer: Consumer) -> list[Record] | None:
        """Wait for records; return None when ``stop`` cancelled the wait."""
        # A cancel scope can be entered once, so each fetch gets a new one.
        self._fetch_scope = anyio.CancelScope()
        if self._stopping:
            return None
        self.waiting = True
        try:
            with self._fetch_scope:
                return await consumer.fetch(self._settings.fetch_max_records)
        finally:
            self.waiting = False
        return None

    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[None]:
        counters = self.context.counters
        counters.in_flight += 1
        try:
            yield
        finally:
            counters.in_flight -= 1
            self._activity.notify()

    # -- handling -----------------------------------------------------------

    async def _handle_one(self, route: Route, record: Record) -> None:
        self._count_in(route, 1)
        try:
            message = self._codec.decode(route.topic, record.value)
        except MessageValidationError as exc:
            await self._reject(route, [_Input(record, None)], exc)
            return

        context = Context(self.context, route.topic, message)
        handler = getattr(route.component, route.subscription.handler)
        try:
            await self._timed(handler(message, context))
        except Exception as exc:
            await self._reject(route, [_Input(record, message)], exc)
        else:
            await self._publish_or_reject(route, context, [_Input(record, message)])

    async def _handle_batch(self, route: Route, records: Sequence[Record]) -> None:
        """Call a batch handler once with every record of one fetch that decodes.

        Records that do not decode go to the error topic one by one. When the
        handler raises, every record it received goes to the error topic with
        that exception, logged once.
        """
        self._count_in(route, len(records))
        messages: list[Envelope] = []
        decoded: list[_Input] = []
        for record in records:
            try:
                message = self._codec.decode(route.topic, record.value)
            except MessageValidationError as exc:
                await self._reject(route, [_Input(record, None)], exc)
                continue
            messages.append(message)
            decoded.append(_Input(record, message))

        if messages:
            context = Context(self.context, route.topic, None)
            handler = getattr(route.component, route.subscription.handler)
            try:
                await self._timed(handler(messages, context))
            except Exception as exc:
                await self._reject(route, decoded, exc)
            else:
                await self._publish_or_reject(route, context, decoded)

    async def _timed(self, call: Awaitable[None]) -> None:
        # Handler time is measured in real time (perf_counter) because it
        # describes the process, not event time.
        started = time.perf_counter()
        try:
            await call
        finally:
            elapsed = time.perf_counter() - started
            self.context.counters.handler_durations.add(elapsed)

    def _count_in(self, route: Route, count: int) -> None:
        self.context.counters.messages_in += count
        counters = self._counters[route.topic]
        counters.messages_in += count
        counters.last_message_at = self.context.clock.now()

    # -- outputs ------------------------------------------------------------

    async def _publish_or_reject(
        self, route: Route, context: Context, inputs: Sequence[_Input]
    ) -> None:
        """Publish the outputs, or send the inputs to the error topic if that fails.

        Outputs published before the failing one stay published, so a
        consumer of those topics can see part of a failed handler's output.
        """
        try:
            for output in context.outputs:
                await self._publish_output(output)
        except OutputPublishError as exc:
            await self._reject(route, inputs, exc)

    async def _publish_output(self, output: Output) -> None:
        attempts = self._settings.publish_attempts
        for attempt in range(1, attempts + 1):
            try:
                await self.context.broker.publish(
                    output.topic,
                    output.value,
                    key=output.key,
                    headers=output.headers,
                    timestamp=output.timestamp,
                )
            except BrokerError as exc:
                if attempt == attempts:
                    raise OutputPublishError(output.topic, attempts, exc) from exc
                delay = self._settings.publish_retry_delay * 2 ** (attempt - 1)
                logger.warning(
                    "publishing an output of component %r to %r failed "
                    "(attempt %d of %d); retrying in %.2f s: %s",
                    self.context.component,
                    output.topic,
                    attempt,
                    attempts,
                    delay,
                    exc,
                    extra={"component": self.context.component, "topic": output.topic},
                )
                # Real time: the retry waits for the broker to recover.
                await anyio.sleep(delay)
            else:
                self.context.counters.messages_out += 1
                return

    # -- failures -----------------------------------------------------------

    async def _reject(
        self, route: Route, inputs: Sequence[_Input], error: BaseException
    ) -> None:
        """Log ``error`` once and send each failed record to the error topic."""
        self._log_failure(route, inputs, error)
        counters = self.context.counters
        counters.errors += len(inputs)
        counters.last_error = f"{type(error).__name__}: {error}"
        self._counters[route.topic].errors += len(inputs)
        for item in inputs:
            await self._publish_error(route, item, error)

    def _log_failure(
        self, route: Route, inputs: Sequence[_Input], error: BaseException
    ) -> None:
        first = inputs[0]
        record = first.record
        # A record that does not decode needs no traceback, because the log
        # line contains the validation error. An open circuit (an error class
        # with ``log_traceback = False``) logged its cause when it opened.
        traceback = getattr(error, "log_traceback", True)
        if isinstance(error, MessageValidationError):
            failure = f"cannot decode a record ({error})"
            traceback = False
        elif isinstance(error, OutputPublishError):
            failure = (
                f"cannot publish the output of handler {route.subscription.handler!r}"
            )
        else:
            failure = f"handler {route.subscription.handler!r} failed"
            if not traceback:
                failure = f"{failure} ({error})"
        count = f" (and {len(inputs) - 1} more in the batch)" if len(inputs) > 1 else ""
        extra = {
            "component": self.context.component,
            "stage": route.subscription.stage,
            "group": self.group,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
        if first.message is not None:
            extra["trace_id"] = first.message.trace_id
            extra["message_id"] = first.message.message_id
        logger.error(
            "component %r, stage %r: %s on %s[%d] at offset %d%s; sending it to %r",
            self.context.component,
            route.subscription.stage,
            failure,
            record.topic,
            record.partition,
            record.offset,
            count,
            route.error_topic,
            exc_info=error if traceback else None,
            extra=extra,
        )

    async def _publish_error(
        self, route: Route, item: _Input, error: BaseException
    ) -> None:
        record = item.record
        message = build_processing_error(
            stage=route.subscription.stage,
            record=record,
            error=error,
            message=item.message,
            received_at=self.context.clock.now(),
        )
        try:
            await self.context.broker.publish(
                route.error_topic,
                self._codec.encode(message),
                key=message.device_id,
                timestamp=message.recorded_at,
            )
        except BrokerError as exc:
            raise ComponentError(
                f"cannot publish to error topic {route.error_topic!r} for "
                f"{record.topic}[{record.partition}] at offset {record.offset}: "
                f"{exc}; the record stays uncommitted and is delivered again "
                "after the restart"
            ) from exc

    async def _commit(self, consumer: Consumer, records: Sequence[Record]) -> None:
        if not records:
            return
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            offsets[partition] = max(offsets.get(partition, 0), record.offset + 1)
        await consumer.commit(offsets)
