"""Fixtures of the gateway tests: a runtime with the gateway on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.server import GatewayRun, run_gateway


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[GatewayRun]:
    """The ingest component with the gateway, without a database."""
    async with run_gateway(tmp_path) as run:
        yield run


@pytest.fixture
async def stored_gateway(tmp_path: Path) -> AsyncIterator[GatewayRun]:
    """The gateway with the persist component writing to a SQLite file."""
    async with run_gateway(tmp_path, persist=True) as run:
        yield run
