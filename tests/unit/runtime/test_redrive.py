"""Redrive and discard records from an error topic of a running pipeline."""

from __future__ import annotations

import pytest

from loomlite.contract import ProcessingError
from loomlite.errors import ContractError
from loomlite.runtime.context import Context
from loomlite.runtime.redrive import discard, pending_errors, redrive
from loomlite.runtime.subscription import subscribe
from tests.unit.runtime.pipeline import (
    GPS,
    PLACE,
    Geocoder,
    GpsFix,
    Place,
    build_catalog,
    fix,
    make_runtime,
    read_messages,
)

pytestmark = pytest.mark.anyio

ERRORS = "processing.errors.geocoding"


class FixableGeocoder(Geocoder):
    """A geocoder that fails above ``limit`` degrees of latitude."""

    def __init__(self) -> None:
        super().__init__()
        self.limit = 80.0

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        self.seen.append(message.latitude)
        if message.latitude > self.limit:
            raise ValueError(f"no places north of {self.limit}, got {message.latitude}")
        await context.publish(
            PLACE,
            Place.derive(
                message, received_at=context.clock.now(), name=f"{message.latitude}"
            ),
        )


async def _errors(runtime_broker: object) -> list[ProcessingError]:
    messages = await read_messages(runtime_broker, ERRORS)  # type: ignore[arg-type]
    return [m for m in messages if isinstance(m, ProcessingError)]


async def test_redrive_fixed_records_land_downstream() -> None:
    geocoder = FixableGeocoder()
    catalog = build_catalog()
    async with make_runtime(geocoder) as runtime:
        for latitude in (85.0, 50.0, 86.0):
            await runtime.publish(GPS, fix(latitude))
        await runtime.run_until_idle()
        assert len(await _errors(runtime.broker)) == 2

        geocoder.limit = 90.0
        result = await redrive(runtime.broker, ERRORS, catalog=catalog)
        await runtime.run_until_idle()

        places = await read_messages(runtime.broker, PLACE)
        names = sorted(p.name for p in places if isinstance(p, Place))
        pending = await pending_errors(runtime.broker, ERRORS, catalog=catalog)

    assert len(result.redriven) == 2
    assert result.pending == 0
    assert names == ["50.0", "85.0", "86.0"]
    assert pending == []


async def test_redrive_failing_again_keeps_new_error() -> None:
    geocoder = FixableGeocoder()
    catalog = build_catalog()
    async with make_runtime(geocoder) as runtime:
        await runtime.publish(GPS, fix(85.0))
        await runtime.run_until_idle()
        (first,) = await _errors(runtime.broker)

        geocoder.limit = 84.0  # still fails, with a different message
        result = await redrive(runtime.broker, ERRORS, catalog=catalog)
        await runtime.run_until_idle()
        pending = await pending_errors(runtime.broker, ERRORS, catalog=catalog)

    assert list(result.redriven) == [first.message_id]
    assert len(pending) == 1
    again = pending[0].error
    assert again is not None
    assert again.message_id != first.message_id
    assert "north of 84.0" in again.error_message
    assert "north of 80.0" in first.error_message
    assert again.source_value == first.source_value
    assert again.recorded_at == first.recorded_at


async def test_redrive_selected_ids_only() -> None:
    geocoder = FixableGeocoder()
    catalog = build_catalog()
    async with make_runtime(geocoder) as runtime:
        for latitude in (85.0, 86.0):
            await runtime.publish(GPS, fix(latitude))
        await runtime.run_until_idle()
        first, second = await _errors(runtime.broker)

        geocoder.limit = 90.0
        result = await redrive(
            runtime.broker, ERRORS, message_ids=[second.message_id], catalog=catalog
        )
        await runtime.run_until_idle()
        places = await read_messages(runtime.broker, PLACE)
        pending = await pending_errors(runtime.broker, ERRORS, catalog=catalog)

    assert list(result.redriven) == [second.message_id]
    assert result.pending == 1
    assert [p.name for p in places if isinstance(p, Place)] == ["86.0"]
    # The unselected first record keeps the commit at 0, so both stay pending.
    assert [entry.error.message_id for entry in pending if entry.error] == [
        first.message_id,
        second.message_id,
    ]


async def test_discard_commits_without_publishing() -> None:
    geocoder = FixableGeocoder()
    catalog = build_catalog()
    async with make_runtime(geocoder) as runtime:
        await runtime.publish(GPS, fix(85.0))
        await runtime.run_until_idle()
        (error,) = await _errors(runtime.broker)

        result = await discard(runtime.broker, ERRORS, catalog=catalog)
        await runtime.run_until_idle()
        pending = await pending_errors(runtime.broker, ERRORS, catalog=catalog)
        places = await read_messages(runtime.broker, PLACE)

    assert result.discarded == (error.message_id,)
    assert result.redriven == {}
    assert pending == []
    assert places == []
    assert geocoder.seen == [85.0]


async def test_redrive_rejects_non_error_topic() -> None:
    async with make_runtime(FixableGeocoder()) as runtime:
        with pytest.raises(ContractError, match="is not an error topic"):
            await redrive(runtime.broker, GPS, catalog=build_catalog())


async def test_redrive_commits_selected_prefix() -> None:
    geocoder = FixableGeocoder()
    catalog = build_catalog()
    async with make_runtime(geocoder) as runtime:
        for latitude in (85.0, 86.0):
            await runtime.publish(GPS, fix(latitude))
        await runtime.run_until_idle()
        first, second = await _errors(runtime.broker)

        selected = await redrive(
            runtime.broker, ERRORS, message_ids=[first.message_id], catalog=catalog
        )
        await runtime.run_until_idle()
        geocoder.limit = 90.0
        rest = await redrive(runtime.broker, ERRORS, catalog=catalog)
        await runtime.run_until_idle()

    assert list(selected.redriven) == [first.message_id]
    assert list(selected.committed.values()) == [1]
    # The first record failed again, so the rest are its new error and the
    # second original.
    assert second.message_id in rest.redriven
    assert first.message_id not in rest.redriven
    assert len(rest.redriven) == 2
