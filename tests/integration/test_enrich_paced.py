"""Enrich outputs do not depend on how fast input arrives.

The same readings published all at once and replayed at 100 times their
event-time pace must give the same derived steps, motion events and geofence
events, because windows close on event time and never on arrival time.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import pytest

from loomlite.clock import AcceleratedClock
from loomlite.testing import Pipeline
from tests.integration.support import PipelineFactory
from tests.integration.test_enrich_component import (
    ACCELEROMETER,
    DERIVED_STEPS,
    GPS,
    MOTION_EVENTS,
    REGION_EVENTS,
    comparable,
    gait,
    make_runtime,
    readings,
    run,
    trip_fixes,
)

SPEED = 100.0


async def run_paced(
    make_pipeline: PipelineFactory, gps: Sequence[Any], accelerometer: Sequence[Any]
) -> Pipeline:
    """Publish each reading when a 100x clock from its first reading reaches it."""
    arrivals = list(
        heapq.merge(
            ((fix.recorded_at, GPS, fix) for fix in gps),
            (
                (reading.recorded_at, ACCELEROMETER, reading)
                for reading in accelerometer
            ),
            key=lambda item: item[0],
        )
    )
    clock = AcceleratedClock(SPEED, start=arrivals[0][0])
    async with make_runtime(make_pipeline) as pipeline:
        for recorded_at, topic, message in arrivals:
            await clock.sleep_until(recorded_at)
            await pipeline.publish(topic, message)
        await pipeline.run_until_idle(timeout=60)
    return pipeline


@pytest.mark.anyio
@pytest.mark.slow
async def test_hundredfold_pace_same_outputs(
    loomlite_pipeline: PipelineFactory,
) -> None:
    accelerometer = readings(gait())
    gps = trip_fixes()

    at_once = await run(loomlite_pipeline, gps, accelerometer)
    paced = await run_paced(loomlite_pipeline, gps, accelerometer)

    for topic in (DERIVED_STEPS, MOTION_EVENTS, REGION_EVENTS):
        expected = comparable(at_once.messages(topic))
        assert expected, f"no messages on {topic}"
        assert comparable(paced.messages(topic)) == expected, topic
