"""The HTTP benchmark: GPS readings posted by concurrent clients on loopback.

``measure_gateway`` runs the ingest and persist components with the gateway
on a free loopback port and a new SQLite file, posts the readings with
httpx, waits until the pipeline is idle and reads the stored rows back.
``measure_bare`` posts the same bodies to a FastAPI app with one route that
parses the JSON and responds with 201, served the same way, as the baseline.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from loomlite.gateway.server import open_socket, serve_app

__all__ = ["LoadResult", "gps_bodies", "measure_bare", "measure_gateway", "post_load"]

GPS_PATH = "/sensor/gps"
GPS_TABLE = "device_sensor_gps_raw"
GPS_TOPIC = "device.sensor.gps.raw"
DEVICES = 10


@dataclass(slots=True)
class LoadResult:
    """Measurements of one load run: response statuses, latencies and stored rows.

    ``published``, ``rows`` and ``distinct_ids`` stay None for the baseline,
    which stores nothing. ``published`` counts the GPS topic's records in the
    broker, where a message published twice would count twice, because the
    table keeps one row per message id.
    """

    requests: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    acknowledged_ids: list[str] = field(default_factory=list)
    published: int | None = None
    rows: int | None = None
    distinct_ids: set[str] | None = None

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """Return the latency below which ``fraction`` of requests finished."""
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
        return ordered[index] * 1000


def gps_bodies(readings: int, devices: int = DEVICES) -> list[dict[str, Any]]:
    """Return ``readings`` GPS bodies spread over ``devices`` device ids.

    Each device's fixes are one millisecond apart and end now, so that every
    (device_id, recorded_at) key is unique and inside the topic's retention.
    """
    device_ids = [str(uuid.uuid4()) for _ in range(devices)]
    end = datetime.now(UTC)
    bodies = []
    for index in range(readings):
        recorded_at = end - timedelta(milliseconds=readings - index)
        bodies.append(
            {
                "device_id": device_ids[index % devices],
                "recorded_at": recorded_at.isoformat().replace("+00:00", "Z"),
                "message_id": str(uuid.uuid4()),
                "latitude": 46.43 + (index % 1000) * 1e-5,
                "longitude": 13.74 + (index % 977) * 1e-5,
                "accuracy": 5.0,
                "speed": 1.3,
            }
        )
    return bodies


async def post_load(
    url: str, api_key: str, bodies: list[dict[str, Any]], *, clients: int
) -> LoadResult:
    """Post every body from ``clients`` concurrent connections.

    Proxy variables are ignored (``trust_env=False``) so that the load only
    goes to ``url``, which callers keep on loopback.
    """
    pending: Iterator[dict[str, Any]] = iter(bodies)
    result = LoadResult(requests=len(bodies), seconds=0.0)

    async def worker() -> None:
        # One client and connection per worker, as each device has its own;
        # one pool shared by every worker slows httpx down as workers grow.
        async with httpx.AsyncClient(
            base_url=url,
            headers={"X-API-Key": api_key},
            limits=httpx.Limits(max_connections=1),
            timeout=60.0,
            trust_env=False,
        ) as client:
            for body in pending:
                started = time.perf_counter()
                response = await client.post(GPS_PATH, json=body)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[response.status_code] += 1
                if response.status_code == 201:
                    result.acknowledged_ids.append(response.json()["message_id"])

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(worker)
    result.seconds = time.perf_counter() - started
    return result


def _read_ids(database: Path) -> list[str]:
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(f"SELECT message_id FROM {GPS_TABLE}").fetchall()
    finally:
        connection.close()
    return [row[0] for row in rows]


async def measure_gateway(readings: int, clients: int, workdir: Path) -> LoadResult:
    """Post ``readings`` GPS fixes to a real gateway and count the stored rows."""
    from loomlite.components.ingest import IngestComponent
    from loomlite.components.persist import persist_component
    from loomlite.contract import CATALOG
    from loomlite.runtime import Runtime
    from loomlite.runtime.profiles import load_settings
    from loomlite.sink import migrate

    await anyio.Path(workdir).mkdir(parents=True, exist_ok=True)
    database = workdir / f"gateway-{secrets.token_hex(4)}.db"
    url = f"sqlite:///{database}"
    api_key = secrets.token_urlsafe(16)
    await migrate.upgrade(url)
    settings = load_settings(
        None,
        state_dir=workdir,
        db_url=url,
        api_key=api_key,
        log_level="WARNING",
        http={"enabled": True, "host": "127.0.0.1", "port": 0},
    )
    ingest = IngestComponent(http=True)
    persist = persist_component(url, CATALOG, topics=ingest.publishes)
    bodies = gps_bodies(readings)
    async with Runtime(settings, components=[ingest, persist]) as runtime:
        gateway = ingest.gateway
        assert gateway is not None
        await gateway.started.wait()
        result = await post_load(gateway.url, api_key, bodies, clients=clients)
        await runtime.run_until_idle(timeout=120.0)
        topic = runtime.broker.statistics().topics[GPS_TOPIC]
        result.published = topic.published_total
    ids = await anyio.to_thread.run_sync(_read_ids, database)
    result.rows = len(ids)
    result.distinct_ids = set(ids)
    return result


def _bare_app() -> FastAPI:
    app = FastAPI()

    @app.post(GPS_PATH, status_code=201)
    async def accept(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"message_id": body["message_id"]}, status_code=201)

    return app


async def measure_bare(readings: int, clients: int) -> LoadResult:
    """Post the same load to an app that only parses JSON and responds with 201."""
    sock = open_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    started = anyio.Event()
    bodies = gps_bodies(readings)
    async with anyio.create_task_group() as group:
        group.start_soon(
            lambda: serve_app(
                _bare_app(), sock, max_body_bytes=1 << 20, started=started
            )
        )
        await started.wait()
        result = await post_load(
            f"http://127.0.0.1:{port}", "", bodies, clients=clients
        )
        group.cancel_scope.cancel()
    sock.close()
    return result
