"""The ``tui_frames`` and ``tui_load`` benchmarks of ``loomlite bench``.

``tui_frames`` runs the demo profile at ``--speed max`` twice: in a
``loomlite up`` child process with a TUI attached from this process, and
inside the TUI's own process. The TUI is headless and shows the Topics
screen, which redraws the most. A frame ends when Textual has composited the
screen after a tick, not when the tick took its snapshot. Each mode is a
result of its own: the p99 interval between frames against a 250 ms target,
with p50 and the message rate with the TUI open and closed in its samples.

``tui_load`` publishes from 50 simulated devices at 20 messages per second
each into a runtime that stores them, with and without the TUI open, and
compares the rates at which the records were consumed and stored.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from loomlite.benchmarks import BenchmarkResult
    from loomlite.tui.app import LoomliteApp

__all__ = ["measure_frames", "measure_load"]

FRAME_TARGET = 0.25  # seconds between frames, p99
LOAD_TARGET = 0.9  # throughput with the TUI open over throughput without
REFRESH = 0.1  # seconds between ticks while benchmarking
DEMO_DURATION = timedelta(hours=2)
# Frames drawn while the app starts (compose, first reads) are left out.
STARTUP_FRAMES = 5
DEVICES = 50
DEVICE_RATE = 20.0  # messages per second per device
LOAD_SECONDS = 10.0
SCREEN_SIZE = (150, 44)


def _percentile(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(quantile * (len(ordered) - 1))))
    return ordered[index]


async def _demo_rate(state_dir: Path, *, with_tui: bool) -> tuple[float, list[float]]:
    """Run the demo session; return messages per real second and frame gaps."""
    from loomlite.runtime.profiles import load_settings
    from loomlite.session import run_session
    from loomlite.tui.app import LoomliteApp, SessionOptions

    settings = load_settings(
        "demo",
        state_dir=state_dir,
        duration=DEMO_DURATION,
        components={"monitor": {"status_log": False}},
    )
    if not with_tui:
        closed = await run_session(settings, virtual=True)
        return sum(closed.messages.values()) / closed.real_seconds, []
    app = LoomliteApp(
        session=SessionOptions(settings, virtual=True), refresh_interval=REFRESH
    )
    async with app.run_test(headless=True, size=SCREEN_SIZE):
        await app.session_done.wait()
    report = app.session_report
    if report is None:
        raise RuntimeError(f"the demo session failed: {app.session_error}")
    return sum(report.messages.values()) / report.real_seconds, list(
        app.frame_intervals
    )


async def _attached_rate(
    state_dir: Path, *, with_tui: bool
) -> tuple[float, list[float]]:
    """Run the demo in a ``loomlite up`` child process, with or without a TUI
    attached from this process.

    Returns the child's messages per real second and the TUI's frame gaps.
    """
    from loomlite._up_bench import up_command
    from loomlite.errors import BenchmarkError
    from loomlite.tui.app import LoomliteApp
    from loomlite.tui.source import AttachSource

    await anyio.Path(state_dir).mkdir(parents=True, exist_ok=True)
    command = up_command(
        "--profile",
        "demo",
        "--speed",
        "max",
        "--duration",
        f"{DEMO_DURATION.total_seconds():g}s",
        "--state-dir",
        str(state_dir),
        "--no-panel",
    )
    log_path = state_dir / "up.log"
    gaps: list[float] = []
    with log_path.open("w") as log:
        process = await anyio.open_process(command, stdout=log, stderr=log)
        if with_tui:
            app = LoomliteApp(AttachSource(state_dir), refresh_interval=REFRESH)
            async with app.run_test(headless=True, size=SCREEN_SIZE):
                await process.wait()
            gaps = list(app.frame_intervals)
        else:
            await process.wait()
    if process.returncode != 0:
        raise BenchmarkError(
            f"loomlite up exited with status {process.returncode}; see {log_path}"
        )
    text = await anyio.Path(state_dir / "summary.json").read_text()
    summary = json.loads(text)
    return sum(summary["messages"].values()) / summary["real_seconds"], gaps


async def measure_frames(repeats: int, workdir: Path) -> list[BenchmarkResult]:
    """Measure the TUI's frame interval p99 while the demo runs at --speed
    max: one result attached to a ``loomlite up`` child, one in-process."""
    from loomlite.benchmarks import BenchmarkResult

    modes = (("attached", _attached_rate), ("in_process", _demo_rate))
    samples: dict[str, dict[str, list[float]]] = {
        mode: {
            "frame_p50": [],
            "frame_p99": [],
            "messages_per_s_open": [],
            "messages_per_s_closed": [],
        }
        for mode, _ in modes
    }
    for run in range(repeats):
        for mode, measure in modes:
            closed, _ = await measure(workdir / f"{mode}-closed-{run}", with_tui=False)
            opened, gaps = await measure(workdir / f"{mode}-open-{run}", with_tui=True)
            steady = gaps[STARTUP_FRAMES:]
            samples[mode]["messages_per_s_closed"].append(closed)
            samples[mode]["messages_per_s_open"].append(opened)
            samples[mode]["frame_p50"].append(_percentile(steady, 0.50))
            samples[mode]["frame_p99"].append(_percentile(steady, 0.99))

    where = {
        "attached": "attached to 'loomlite up' in a child process",
        "in_process": "with the pipeline in the TUI's process",
    }
    results = []
    for mode, _ in modes:
        values = samples[mode]
        p50 = statistics.median(values["frame_p50"])
        ratio = statistics.median(values["messages_per_s_open"]) / statistics.median(
            values["messages_per_s_closed"]
        )
        results.append(
            BenchmarkResult(
                name=f"tui_frames:{mode}",
                description=(
                    f"TUI frame interval p99 (p50 {p50 * 1000:.0f} ms) {where[mode]}, "
                    f"demo profile {DEMO_DURATION} at --speed max; messages/s with "
                    f"the TUI open vs closed {ratio:.2f}"
                ),
                unit="s",
                subject=statistics.median(values["frame_p99"]),
                baseline=None,
                target=FRAME_TARGET,
                higher_is_better=False,
                samples=values,
            )
        )
    return results


async def _load_rate(state_dir: Path, *, with_tui: bool) -> tuple[float, list[float]]:
    """Publish the device load; return stored records per second and frame gaps."""
    from loomlite.broker import MemoryBroker
    from loomlite.components.monitor import MonitorComponent
    from loomlite.components.persist import persist_component
    from loomlite.contract import CATALOG
    from loomlite.runtime import LoomliteSettings, Runtime
    from loomlite.sink import migrate
    from loomlite.tui.app import LoomliteApp
    from loomlite.tui.source import LiveSource

    await anyio.Path(state_dir).mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{state_dir / 'loomlite.db'}"
    await migrate.upgrade(db_url)
    gps = "device.sensor.gps.raw"
    persist = persist_component(db_url, CATALOG, topics=[gps])
    monitor = MonitorComponent(sink_statistics=persist.sink_statistics)
    settings = LoomliteSettings(
        state_dir=state_dir, components={"monitor": {"status_log": False}}
    )
    runtime = Runtime(
        settings, components=[persist, monitor], broker=MemoryBroker(), inputs=[gps]
    )
    async with runtime:
        if not with_tui:
            return await _publish_load(runtime), []
        source = LiveSource(
            runtime, db_url=db_url, sink_statistics=persist.sink_statistics
        )
        app: LoomliteApp = LoomliteApp(source, refresh_interval=REFRESH)
        async with app.run_test(headless=True, size=SCREEN_SIZE):
            rate = await _publish_load(runtime)
        return rate, list(app.frame_intervals)


async def _publish_load(runtime: object) -> float:
    """Publish from every device at its rate; return stored records per second."""
    from datetime import UTC, datetime

    from loomlite.contract.models import GPSReading
    from loomlite.runtime import Runtime

    assert isinstance(runtime, Runtime)
    count = int(LOAD_SECONDS * DEVICE_RATE)
    started = time.perf_counter()

    async def device(number: int) -> None:
        period = 1.0 / DEVICE_RATE
        begin = time.perf_counter()
        for index in range(count):
            now = datetime.now(UTC)
            await runtime.publish(
                "device.sensor.gps.raw",
                GPSReading(
                    device_id=f"bench-{number:02d}",
                    recorded_at=now,
                    received_at=now,
                    latitude=46.0 + number * 1e-3,
                    longitude=13.0 + index * 1e-6,
                ),
            )
            # Paced from the start, so a late send does not shift the rest.
            delay = begin + (index + 1) * period - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)

    async with anyio.create_task_group() as group:
        for number in range(DEVICES):
            group.start_soon(device, number)
    await runtime.run_until_idle(timeout=300)
    return DEVICES * count / (time.perf_counter() - started)


async def measure_load(repeats: int, workdir: Path) -> BenchmarkResult:
    """Stored records per second under the device load, TUI open vs closed."""
    from loomlite.benchmarks import BenchmarkResult

    opened: list[float] = []
    closed: list[float] = []
    p50s: list[float] = []
    p99s: list[float] = []
    for run in range(repeats):
        rate, _ = await _load_rate(workdir / f"load-closed-{run}", with_tui=False)
        closed.append(rate)
        rate, gaps = await _load_rate(workdir / f"load-open-{run}", with_tui=True)
        opened.append(rate)
        p50s.append(_percentile(gaps[STARTUP_FRAMES:], 0.50))
        p99s.append(_percentile(gaps[STARTUP_FRAMES:], 0.99))
    return BenchmarkResult(
        name="tui_load",
        description=(
            f"{DEVICES} devices x {DEVICE_RATE:g} msg/s for {LOAD_SECONDS:g} s, "
            "published → stored records/s with the TUI open vs closed; frame "
            f"interval p50 {statistics.median(p50s) * 1000:.0f} ms, "
            f"p99 {statistics.median(p99s) * 1000:.0f} ms"
        ),
        unit="records/s",
        subject=statistics.median(opened),
        baseline=statistics.median(closed),
        target=LOAD_TARGET,
        samples={
            "open": opened,
            "closed": closed,
            "frame_p50": p50s,
            "frame_p99": p99s,
        },
    )
