"""``loomlite up --http``: a real client posts to the command's gateway."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest

from loomlite._up_bench import up_command
from tests.gateway.bodies import now_iso
from tests.gateway.server import DEVICE

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KEY_PREFIX = b"API key (generated; set LOOMLITE_API_KEY to choose one): "
LISTENING = b"HTTP server listening on 127.0.0.1 port"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _read_until(stream: anyio.abc.ByteReceiveStream, marker: bytes) -> bytes:
    """Read ``stream`` until ``marker`` appeared; return everything read."""
    seen = b""
    while marker not in seen:
        seen += await stream.receive()
    while not seen.endswith(b"\n"):
        seen += await stream.receive()
    return seen


async def test_up_http_stores_posted_fix(tmp_path: Path) -> None:
    port = _free_port()
    command = up_command(
        "--profile",
        "gateway",
        "--http",
        f"127.0.0.1:{port}",
        "--state-dir",
        str(tmp_path),
        "--no-panel",
    )
    environment = {**os.environ, "COLUMNS": "200"}
    environment.pop("LOOMLITE_API_KEY", None)
    body = {
        "device_id": DEVICE,
        "recorded_at": now_iso(),
        "latitude": 46.434981,
        "longitude": 13.748273,
        "accuracy": 5.0,
    }
    async with await anyio.open_process(command, env=environment) as process:
        assert process.stdout is not None and process.stderr is not None
        with anyio.fail_after(90):
            printed = await _read_until(process.stdout, KEY_PREFIX)
            key = printed.split(KEY_PREFIX)[1].split()[0].decode()
            await _read_until(process.stderr, LISTENING)
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/sensor/gps",
                json=body,
                headers={"X-API-Key": key},
            )
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(60):
            # Drain both pipes so that the child never blocks on a full one.
            async with anyio.create_task_group() as group:
                for stream in (process.stdout, process.stderr):
                    group.start_soon(_drain, stream)
            returncode = await process.wait()

    assert response.status_code == 201, response.text
    assert returncode == 0
    with sqlite3.connect(tmp_path / "loomlite.db") as database:
        rows = database.execute(
            "SELECT device_id, latitude, longitude FROM device_sensor_gps_raw"
        ).fetchall()
    assert rows == [(DEVICE, 46.434981, 13.748273)]


async def _drain(stream: anyio.abc.ByteReceiveStream) -> None:
    try:
        while True:
            await stream.receive()
    except (anyio.EndOfStream, anyio.ClosedResourceError):
        pass
