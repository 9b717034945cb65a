"""A test pipeline with a SQLite sink, left by an exception or a cancellation,
ends every thread it started and closes every SQLite file it opened."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import anyio
import pytest

from loomlite.testing import Pipeline
from tests.integration.support import PipelineFactory

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.loomlite_brokers("memory", "durable"),
]

GPS = "device.sensor.gps.raw"
CERKNICA = {"latitude": 45.7936, "longitude": 14.3627}

# Python names an aiosqlite connection's thread after its target function,
# and the durable broker names its executor threads "loomlite-broker-...".
AIOSQLITE_THREAD = "_connection_worker_thread"
LOOMLITE_THREAD = "loomlite"


class BlockFailedError(Exception):
    """Raised by the test inside the pipeline block."""


def pipeline_threads() -> dict[int, threading.Thread]:
    """Return the live aiosqlite and loomlite threads by thread id."""
    return {
        thread.ident: thread
        for thread in threading.enumerate()
        if thread.ident is not None
        and (AIOSQLITE_THREAD in thread.name or thread.name.startswith(LOOMLITE_THREAD))
    }


def open_files_under(directory: Path) -> list[str]:
    """Return the paths under ``directory`` that this process has open."""
    root = str(directory.resolve())
    opened = []
    for entry in os.scandir("/proc/self/fd"):
        try:
            target = os.readlink(entry.path)
        except FileNotFoundError:
            continue  # the descriptor closed while the loop ran
        if target.startswith(root + os.sep):
            opened.append(target)
    return opened


async def write_rows(p: Pipeline) -> None:
    """Store two GPS fixes and read them back, which opens the read engine."""
    await p.publish(GPS, {"device_id": "phone-1", **CERKNICA})
    await p.publish(GPS, {"device_id": "phone-2", **CERKNICA})
    await p.run_until_idle()
    assert len(await p.rows(GPS)) == 2


def assert_released(
    state_dir: Path,
    before: dict[int, threading.Thread],
    during: dict[int, threading.Thread],
    broker: str,
) -> None:
    started = [thread for ident, thread in during.items() if ident not in before]
    names = {thread.name for thread in started}
    assert any(AIOSQLITE_THREAD in name for name in names), names
    if broker == "durable":
        assert any(name.startswith("loomlite-broker-writer") for name in names), names
        assert any(name.startswith("loomlite-broker-reader") for name in names), names

    for thread in started:
        # An executor thread ends shortly after its shutdown, not during it.
        thread.join(timeout=5)
        assert not thread.is_alive(), f"thread {thread.name} still runs"
    assert open_files_under(state_dir) == []
    shutil.rmtree(state_dir)
    assert not state_dir.exists()


needs_proc_fd = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd to list open files"
)


@needs_proc_fd
async def test_error_in_block_releases_all(
    loomlite_pipeline: PipelineFactory, loomlite_broker: str
) -> None:
    before = pipeline_threads()
    during: dict[int, threading.Thread] = {}
    p = loomlite_pipeline(components=["ingest", "persist"])
    state_dir = p.state_dir

    with pytest.raises(BlockFailedError):
        async with p:
            await write_rows(p)
            assert open_files_under(state_dir), "expected open SQLite files"
            during = pipeline_threads()
            raise BlockFailedError("failed after the rows were written")

    assert_released(state_dir, before, during, loomlite_broker)


@needs_proc_fd
async def test_cancel_in_block_releases_all(
    loomlite_pipeline: PipelineFactory, loomlite_broker: str
) -> None:
    before = pipeline_threads()
    during: dict[int, threading.Thread] = {}
    p = loomlite_pipeline(components=["ingest", "persist"])
    state_dir = p.state_dir

    with anyio.CancelScope() as scope:
        async with p:
            await write_rows(p)
            assert open_files_under(state_dir), "expected open SQLite files"
            during = pipeline_threads()
            scope.cancel()
            await anyio.sleep_forever()

    assert scope.cancelled_caught
    assert_released(state_dir, before, during, loomlite_broker)
