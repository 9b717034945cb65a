"""A runtime with the HTTP gateway on a free loopback port, for the tests."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx

from loomlite.broker.base import Broker
from loomlite.components.ingest import IngestComponent
from loomlite.components.persist import persist_component
from loomlite.contract import CATALOG, decode
from loomlite.gateway.server import Gateway
from loomlite.runtime import Runtime
from loomlite.runtime.profiles import load_settings
from loomlite.sink import migrate

__all__ = ["API_KEY", "DEVICE", "GatewayRun", "run_gateway"]

API_KEY = "test-key-0123456789"
DEVICE = "3f2b8c9e-6d1a-4c5b-9e7f-0a1b2c3d4e5f"


@dataclass
class GatewayRun:
    """A running runtime, its gateway and a client with the API key set."""

    runtime: Runtime
    gateway: Gateway
    client: httpx.AsyncClient
    database: str | None

    @property
    def url(self) -> str:
        return self.gateway.url

    async def records(self, topic: str) -> list[Any]:
        """Return every message retained on ``topic``, decoded."""
        broker = self.runtime.broker
        spec = CATALOG.get(topic)
        messages = []
        for partition in range(spec.partitions):
            offset = broker.log_start_offset(spec.name, partition)
            end = broker.end_offset(spec.name, partition)
            while offset < end:
                batch = await broker.read(spec.name, partition, offset, 1000)
                messages += [decode(spec, record.value) for record in batch]
                offset += len(batch)
        return messages

    async def rows(
        self, table: str, columns: str = "message_id"
    ) -> list[tuple[Any, ...]]:
        """Return ``columns`` of every row of ``table`` once the pipeline is idle."""
        assert self.database is not None, "this run has no database"
        await self.runtime.run_until_idle(timeout=60.0)
        path = self.database.removeprefix("sqlite:///")

        def query() -> list[tuple[Any, ...]]:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                # The table and column names come from the test code only.
                return connection.execute(f"SELECT {columns} FROM {table}").fetchall()

        return await anyio.to_thread.run_sync(query)

    def published(self, topic: str) -> int:
        """Return how many records were ever published to ``topic``."""
        statistics = self.runtime.broker.statistics()
        return statistics.topics[CATALOG.resolve(topic)].published_total

    def published_total(self) -> int:
        """Return how many records were ever published to any topic."""
        statistics = self.runtime.broker.statistics()
        return sum(topic.published_total for topic in statistics.topics.values())


@asynccontextmanager
async def run_gateway(
    tmp_path: Path | None = None,
    *,
    persist: bool = False,
    broker: Broker | None = None,
    **http: Any,
) -> AsyncIterator[GatewayRun]:
    """Run ingest (and persist into SQLite under ``tmp_path``) with the gateway.

    ``broker`` replaces the runtime's memory broker, for tests that control
    when a publish completes.
    """
    options = {"enabled": True, "host": "127.0.0.1", "port": 0, **http}
    overrides: dict[str, Any] = {"http": options, "api_key": API_KEY}
    ingest = IngestComponent(http=True)
    components: list[Any] = [ingest]
    database = None
    if persist:
        assert tmp_path is not None, "persist needs a tmp_path for the database"
        database = f"sqlite:///{tmp_path / 'gateway.db'}"
        overrides["db_url"] = database
        await migrate.upgrade(database)
        persist = persist_component(
            database, CATALOG, topics=ingest.publishes, max_delay=0.0
        )
        ingest.sink_source = persist.running_sink
        components.append(persist)
    settings = load_settings(None, state_dir=tmp_path or Path("state"), **overrides)
    async with Runtime(settings, components=components, broker=broker) as runtime:
        gateway = ingest.gateway
        assert gateway is not None, "the gateway did not open"
        await gateway.started.wait()
        if persist:
            # The components start concurrently, so the gateway may serve
            # before the persist component has opened the database. Idle
            # means every consuming component is running.
            await runtime.run_until_idle(timeout=60.0)
        headers = {"X-API-Key": API_KEY}
        async with httpx.AsyncClient(
            base_url=gateway.url, headers=headers, timeout=30.0, trust_env=False
        ) as client:
            yield GatewayRun(runtime, gateway, client, database)
