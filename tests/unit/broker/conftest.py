"""Fixtures of the broker suite: every test that takes ``broker`` runs once
against the memory broker and once against the durable broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loomlite.broker import Broker, DurableBroker, MemoryBroker
from loomlite.clock import ManualClock

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def broker_path(tmp_path: Path) -> Path:
    return tmp_path / "broker.sqlite3"


def make_broker(kind: str, clock: ManualClock, path: Path) -> Broker:
    """Return an unstarted broker of ``kind`` ("memory" or "durable")."""
    if kind == "memory":
        return MemoryBroker(clock)
    # NORMAL skips the fsync of each commit; the crash test covers FULL.
    return DurableBroker(path, clock, synchronous="NORMAL")


@pytest.fixture(params=["memory", "durable"])
async def broker(
    request: pytest.FixtureRequest, clock: ManualClock, broker_path: Path
) -> AsyncIterator[Broker]:
    """A started broker of each kind, closed after the test."""
    async with make_broker(request.param, clock, broker_path) as started:
        yield started
