"""Handler failures, error topics, batches and at-least-once delivery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from loomlite.broker import MemoryBroker
from loomlite.broker.base import Header, RecordMetadata
from loomlite.clock import ManualClock
from loomlite.contract import ProcessingError
from loomlite.errors import ComponentError, TopicNotFoundError
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe
from tests.unit.runtime.pipeline import (
    GPS,
    NOTE,
    PLACE,
    START,
    WORDS,
    Geocoder,
    GpsFix,
    Note,
    Place,
    PlaceRecorder,
    WordCount,
    WordCounter,
    fix,
    make_runtime,
    memory_broker,
    note,
    read_messages,
    read_records,
)

pytestmark = pytest.mark.anyio

GEOCODING_ERRORS = "processing.errors.geocoding"


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def committed(broker: MemoryBroker, group: str) -> int:
    """Return the sum of a group's committed offsets over every partition."""
    return sum(
        entry.committed or 0
        for entry in broker.statistics().groups
        if entry.group == group
    )


async def test_failing_handler_sends_error(caplog: pytest.LogCaptureFixture) -> None:
    geocoder, recorder = Geocoder(), PlaceRecorder()
    broker = memory_broker()
    fixes = [fix(52.5, minute=0), fix(85.0, minute=1), fix(48.1, minute=2)]

    async with make_runtime(geocoder, recorder, broker=broker) as runtime:
        caplog.set_level(logging.INFO)
        for message in fixes:
            await runtime.publish(GPS, message)
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)
        originals = await read_records(broker, GPS)
        lag = broker.statistics().lag("enrich.geocoding")
        offsets = committed(broker, "enrich.geocoding")
        statistics = runtime.statistics().components["enrich"]

    assert geocoder.seen == [52.5, 85.0, 48.1]
    assert recorder.places == ["place at 52.5", "place at 48.1"]

    assert len(errors) == 1
    error = errors[0]
    assert isinstance(error, ProcessingError)
    assert error.error_type == "ValueError"
    assert error.error_message == "no places north of 80 degrees, got 85.0"
    assert "Traceback" in error.traceback
    assert error.stage == "geocoding"
    assert error.source_topic == GPS
    assert error.source_key == "phone-1"
    assert error.trace_id == fixes[1].trace_id
    assert error.recorded_at == fixes[1].recorded_at
    assert error.message_id != fixes[1].message_id
    original = next(r for r in originals if r.offset == error.source_offset)
    assert original.partition == error.source_partition
    assert error.source_value == original.value

    logged = error_records(caplog)
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert logged[0].component == "enrich"  # type: ignore[attr-defined]
    assert logged[0].stage == "geocoding"  # type: ignore[attr-defined]
    assert logged[0].topic == GPS  # type: ignore[attr-defined]
    assert logged[0].partition == error.source_partition  # type: ignore[attr-defined]
    assert logged[0].offset == error.source_offset  # type: ignore[attr-defined]
    assert logged[0].trace_id == fixes[1].trace_id  # type: ignore[attr-defined]

    assert lag == 0
    assert offsets == 3
    assert statistics.messages_in == 3
    assert statistics.messages_out == 2
    assert statistics.errors == 1
    assert (
        statistics.last_error == "ValueError: no places north of 80 degrees, got 85.0"
    )
    assert statistics.subscriptions[0].errors == 1


async def test_undecodable_record_sends_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    geocoder = Geocoder()
    broker = memory_broker()

    async with make_runtime(geocoder, broker=broker) as runtime:
        caplog.set_level(logging.INFO)
        sent = await broker.publish(GPS, b"not json", key="phone-9")
        await runtime.publish(GPS, fix(10.0, device="phone-9"))
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)

    assert geocoder.seen == [10.0]
    assert len(errors) == 1
    error = errors[0]
    assert isinstance(error, ProcessingError)
    assert error.error_type == "MessageValidationError"
    assert GPS in error.error_message
    assert error.source_value == b"not json"
    assert error.device_id == "phone-9"
    assert error.recorded_at == sent.timestamp
    assert error.source_offset == sent.offset
    assert len(error_records(caplog)) == 1
    logged = error_records(caplog)[0]
    assert "cannot decode a record (invalid message for topic" in logged.getMessage()
    # The reason is in the line itself, so no traceback follows it.
    assert logged.exc_info is None


async def test_record_without_key_uses_unknown_device() -> None:
    broker = memory_broker()

    async with make_runtime(Geocoder(), broker=broker) as runtime:
        await broker.publish(GPS, b"{}", headers=[("origin", b"test")])
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)

    assert len(errors) == 1
    assert isinstance(errors[0], ProcessingError)
    assert errors[0].device_id == "unknown"
    assert errors[0].source_key is None
    assert [(h.name, h.value) for h in errors[0].source_headers] == [
        ("origin", b"test")
    ]


async def test_batch_handler_gets_all_notes() -> None:
    counter = WordCounter()
    broker = memory_broker()
    texts = ["one", "two words", "now three words"]

    async with make_runtime(counter, broker=broker) as runtime:
        for text in texts:
            await runtime.publish(NOTE, note(text))
        await runtime.run_until_idle(timeout=5)
        counts = await read_messages(broker, WORDS)
        lag = broker.statistics().lag("counter.counting")

    assert sum(counter.batches) == 3
    assert sorted(c.words for c in counts if isinstance(c, WordCount)) == [1, 2, 3]
    assert lag == 0


async def test_failing_batch_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    broker = memory_broker()
    failing = BatchFailure()

    async with make_runtime(failing, broker=broker) as runtime:
        caplog.set_level(logging.INFO)
        for text in ("a", "b", "c"):
            await runtime.publish(NOTE, note(text))
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, "processing.errors.counting")
        lag = broker.statistics().lag("counter.counting")

    assert len(errors) == 3
    assert len(error_records(caplog)) == len(failing.batches)
    assert sum(failing.batches) == 3
    assert lag == 0


class BatchFailure(Component):
    """A batch handler that records each batch size, then raises."""

    name = "counter"
    publishes = (WORDS,)

    def __init__(self) -> None:
        self.batches: list[int] = []

    @subscribe(NOTE, stage="counting", batch=True)
    async def on_notes(self, messages: Sequence[Note], context: Context) -> None:
        self.batches.append(len(messages))
        raise RuntimeError(f"cannot count {len(messages)} notes")


class Sneaky(Component):
    """Publishes to a topic it did not declare."""

    name = "sneaky"
    publishes = (PLACE,)

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        words = WordCount.derive(message, received_at=context.clock.now(), words=1)
        await context.publish(WORDS, words)


class WrongOutput(Component):
    """Publishes a GpsFix to a topic that carries Place."""

    name = "wrong"
    publishes = (PLACE,)

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        await context.publish(PLACE, message)


async def test_undeclared_publish_is_error() -> None:
    broker = memory_broker()

    async with make_runtime(Sneaky(), PlaceRecorder(), broker=broker) as runtime:
        await runtime.publish(GPS, fix(1.0))
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)
        words = await read_records(broker, WORDS)

    assert words == []
    assert len(errors) == 1
    assert isinstance(errors[0], ProcessingError)
    assert errors[0].error_type == "ComponentError"
    assert repr(WORDS) in errors[0].error_message
    assert "does not declare" in errors[0].error_message


async def test_wrong_output_model_is_error() -> None:
    broker = memory_broker()

    async with make_runtime(WrongOutput(), PlaceRecorder(), broker=broker) as runtime:
        await runtime.publish(GPS, fix(1.0))
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)

    assert len(errors) == 1
    assert isinstance(errors[0], ProcessingError)
    assert "GpsFix" in errors[0].error_message
    assert "expects Place" in errors[0].error_message


class FlakyBroker(MemoryBroker):
    """A MemoryBroker whose publishes to one topic fail a given number of times.

    Each failed and each successful publish to that topic records the
    committed offset of ``group`` at that moment.
    """

    def __init__(self, topic: str, failures: int, group: str) -> None:
        super().__init__(clock=ManualClock(START))
        self.topic = topic
        self.failures = failures
        self.group = group
        self.attempts = 0
        self.committed_at_publish: list[int] = []

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        if topic == self.topic:
            self.attempts += 1
            self.committed_at_publish.append(committed(self, self.group))
            if self.attempts <= self.failures:
                raise TopicNotFoundError(topic, known=["simulated outage"])
        return await super().publish(
            topic, value, key=key, headers=headers, timestamp=timestamp
        )


async def test_output_retry_commits_after_success(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = FlakyBroker(PLACE, failures=2, group="enrich.geocoding")
    recorder = PlaceRecorder()

    async with make_runtime(Geocoder(), recorder, broker=broker) as runtime:
        caplog.set_level(logging.INFO)
        await runtime.publish(GPS, fix(30.0))
        await runtime.run_until_idle(timeout=5)
        errors = await read_records(broker, GEOCODING_ERRORS)
        offsets = committed(broker, "enrich.geocoding")

    assert broker.attempts == 3
    assert broker.committed_at_publish == [0, 0, 0]
    assert offsets == 1
    assert recorder.places == ["place at 30.0"]
    assert errors == []
    assert error_records(caplog) == []
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert "attempt 1 of 3" in retries[0].getMessage()


async def test_output_failure_sends_input_to_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = FlakyBroker(PLACE, failures=10, group="enrich.geocoding")
    message = fix(30.0)

    async with make_runtime(Geocoder(), PlaceRecorder(), broker=broker) as runtime:
        caplog.set_level(logging.INFO)
        await runtime.publish(GPS, message)
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)
        offsets = committed(broker, "enrich.geocoding")
        statistics = runtime.statistics().components["enrich"]

    assert broker.attempts == 3
    assert broker.committed_at_publish == [0, 0, 0]
    assert offsets == 1
    assert len(errors) == 1
    assert isinstance(errors[0], ProcessingError)
    assert errors[0].error_type == "OutputPublishError"
    assert repr(PLACE) in errors[0].error_message
    assert "after 3 attempt(s)" in errors[0].error_message
    assert errors[0].trace_id == message.trace_id
    assert len(error_records(caplog)) == 1
    assert statistics.messages_out == 0
    assert statistics.errors == 1


async def test_error_topic_failure_crashes_component(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the error topic cannot be written, the record stays uncommitted
    and is delivered again after the component restarts."""
    broker = FlakyBroker(GEOCODING_ERRORS, failures=1, group="enrich.geocoding")
    geocoder = Geocoder()

    async with make_runtime(geocoder, broker=broker) as runtime:
        caplog.set_level(logging.INFO)
        await runtime.publish(GPS, fix(85.0))
        await runtime.run_until_idle(timeout=5)
        errors = await read_messages(broker, GEOCODING_ERRORS)
        statistics = runtime.statistics().components["enrich"]

    assert geocoder.seen == [85.0, 85.0]
    assert len(errors) == 1
    assert statistics.restarts == 1
    crashes = [r for r in caplog.records if "restart attempt 1" in r.getMessage()]
    assert len(crashes) == 1
    assert isinstance(crashes[0].exc_info[1], ComponentError)  # type: ignore[index]


async def test_context_logger_carries_ids(caplog: pytest.LogCaptureFixture) -> None:
    class Chatty(Component):
        name = "chatty"

        @subscribe(PLACE, stage="recording")
        async def on_place(self, message: Place, context: Context) -> None:
            context.logger.info("got %s", message.name)

    message = fix(12.0)

    async with make_runtime(Geocoder(), Chatty()) as runtime:
        caplog.set_level(logging.INFO)
        await runtime.publish(GPS, message)
        await runtime.run_until_idle(timeout=5)

    records = [r for r in caplog.records if r.getMessage() == "got place at 12.0"]
    assert len(records) == 1
    assert records[0].component == "chatty"  # type: ignore[attr-defined]
    assert records[0].topic == PLACE  # type: ignore[attr-defined]
    assert records[0].trace_id == message.trace_id  # type: ignore[attr-defined]
    assert records[0].message_id != message.message_id  # type: ignore[attr-defined]


async def test_subscription_records_last_message_time() -> None:
    geocoder = Geocoder()
    broker = memory_broker()
    clock = broker.clock
    assert isinstance(clock, ManualClock)

    async with make_runtime(geocoder, broker=broker) as runtime:
        before = runtime.statistics().components["enrich"].subscriptions
        clock.advance(60)
        await runtime.publish(GPS, fix(10.0))
        await runtime.run_until_idle(timeout=5)
        after = runtime.statistics().components["enrich"].subscriptions

    assert [s.last_message_at for s in before] == [None]
    assert [s.last_message_at for s in after] == [START + timedelta(seconds=60)]
