"""The throughput helpers that ``loomlite bench`` calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomlite.broker import DurableBroker, MemoryBroker
from loomlite.broker._bench import measure_publish_consume, measure_queue

pytestmark = pytest.mark.anyio


async def test_measure_memory_broker() -> None:
    rate = await measure_publish_consume(MemoryBroker, 2_000, 64)
    assert rate > 0


async def test_measure_durable_broker(tmp_path: Path) -> None:
    rate = await measure_publish_consume(
        lambda: DurableBroker(tmp_path / "bench.sqlite3", synchronous="NORMAL"), 200, 64
    )
    assert rate > 0


async def test_measure_queue() -> None:
    assert await measure_queue(2_000, 64, 100) > 0


async def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="messages"):
        await measure_queue(0, 64, 100)
    with pytest.raises(ValueError, match="maxsize"):
        await measure_queue(10, 64, 0)
    with pytest.raises(ValueError, match="value_size"):
        await measure_publish_consume(MemoryBroker, 10, -1)
