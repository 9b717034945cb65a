"""`loomlite up` end to end: the demo profile, determinism, errors and Ctrl-C.

Each run is a real child process (or a real in-process session) on a SQLite
file in a temporary state directory, on virtual time (``--speed max``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import pytest

from loomlite.clock import Clock
from loomlite.components.enrich.component import EnrichComponent
from loomlite.components.enrich.geo import haversine_distance
from loomlite.components.ingest import IngestComponent
from loomlite.contract import CATALOG
from loomlite.contract.models import GPSReading
from loomlite.runtime import LoomliteSettings
from loomlite.runtime.context import Context
from loomlite.runtime.profiles import load_settings
from loomlite.runtime.runtime import Runtime
from loomlite.session import build_devices, run_session, session_clock
from simulators.base import SimulatorState
from simulators.gpx import bundled_track_path, read_gpx
from simulators.scenario import WALK_TRACK

pytestmark = pytest.mark.slow

# The console script installed beside this interpreter, as a user runs it.
LOOMLITE = Path(sys.executable).with_name("loomlite")

# Tables that a two-hour demo run from 07:00 must fill: every sensor the demo
# phone has on, each stage over them, and the fetchers.
CORE_TABLES = (
    "device_sensor_gps_raw",
    "device_sensor_accelerometer_raw",
    "device_audio_raw",
    "device_image_screenshot_raw",
    "device_health_heartrate_raw",
    "device_state_power_raw",
    "media_audio_vad_filtered",
    "media_text_transcribed_words",
    "analysis_text_embedded_transcripts",
    "location_address_geocoded",
    "location_georegion_detected",
    "device_health_steps_derived",
    "motion_events_significant",
    "motion_classification_activity",
    "external_email_events_raw",
    "external_calendar_events_raw",
)


def run_up(
    state_dir: Path, *arguments: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    command = [
        str(LOOMLITE),
        "up",
        "--state-dir",
        str(state_dir),
        "--no-panel",
        *arguments,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )


def table_digest(database: Path) -> str:
    """Hash every stored row except the surrogate ``id``, table by table."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for table in tables:
            if table == "alembic_version":
                continue
            columns = [
                row[1]
                for row in connection.execute(f'PRAGMA table_info("{table}")')
                if row[1] != "id"
            ]
            listed = ", ".join(f'"{column}"' for column in columns)
            rows = sorted(
                repr(row)
                for row in connection.execute(f'SELECT {listed} FROM "{table}"')
            )
            digest.update(table.encode())
            for row in rows:
                digest.update(row.encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    state_dir = tmp_path_factory.mktemp("demo")
    result = run_up(
        state_dir, "--profile", "demo", "--duration", "2h", "--speed", "max"
    )
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads((state_dir / "summary.json").read_text())
    yield state_dir, {"stdout": result.stdout, **summary}


def test_demo_run_fills_core_tables(demo_run: tuple[Path, dict]) -> None:
    _, summary = demo_run

    missing = [table for table in CORE_TABLES if not summary["rows"].get(table)]

    assert missing == []


def test_every_published_topic_is_stored(demo_run: tuple[Path, dict]) -> None:
    _, summary = demo_run
    stored_topics = {
        spec.name: spec.table.name for spec in CATALOG.persisted() if spec.table
    }

    empty = [
        topic
        for topic, count in summary["messages"].items()
        if count
        and topic in stored_topics
        and not summary["rows"].get(stored_topics[topic])
    ]

    assert empty == []


def gps_rows(database: Path) -> list[tuple[str, datetime, float, float]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT device_id, recorded_at, latitude, longitude "
            "FROM device_sensor_gps_raw ORDER BY device_id, recorded_at"
        ).fetchall()
    return [
        (device, datetime.fromisoformat(moment), latitude, longitude)
        for device, moment, latitude, longitude in rows
    ]


def distance_to_polyline(
    latitude: float, longitude: float, points: Sequence[tuple[float, float]]
) -> float:
    """Return metres from a position to the nearest segment of ``points``.

    Positions are projected onto a plane tangent at the position, which is
    accurate to well under a metre over the few kilometres of a track.
    """
    metres_per_degree = 111_320.0
    scale = math.cos(math.radians(latitude))

    def project(point: tuple[float, float]) -> tuple[float, float]:
        return (
            (point[1] - longitude) * metres_per_degree * scale,
            (point[0] - latitude) * metres_per_degree,
        )

    best = math.inf
    projected = [project(point) for point in points]
    for (ax, ay), (bx, by) in itertools.pairwise(projected):
        dx, dy = bx - ax, by - ay
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def test_gps_rows_follow_the_gpx_track(demo_run: tuple[Path, dict]) -> None:
    state_dir, _ = demo_run
    settings = load_settings("demo")
    start = session_clock(settings, virtual=True).now()
    scenario, _ = build_devices(settings, start)
    walk = read_gpx(bundled_track_path(WALK_TRACK)).track_points()
    track = [(point.latitude, point.longitude) for point in walk]
    # The simulated fix error is 3 m per axis (one standard deviation), so
    # 25 m is beyond six standard deviations of the combined error.
    tolerance_m = 25.0

    rows = gps_rows(state_dir / "loomlite.db")
    walking = [row for row in rows if scenario.activity_at(row[1]) == "walking"]

    assert len({row[0] for row in rows}) == settings.simulators.devices
    assert len(walking) >= 50
    for device, moment, latitude, longitude in rows:
        expected = scenario.position_at(moment)
        error = haversine_distance(
            latitude, longitude, expected.latitude, expected.longitude
        )
        assert error <= tolerance_m, (device, moment, error)
    for device, moment, latitude, longitude in walking:
        off_track = distance_to_polyline(latitude, longitude, track)
        assert off_track <= tolerance_m, (device, moment, off_track)


class JumpClock(Clock):
    """A clock that jumps to each deadline at once, to run simulators alone."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep_until(self, deadline: datetime) -> None:
        self._now = max(self._now, deadline)


async def emitted_topics(settings: LoomliteSettings) -> set[str]:
    """Run the profile's simulators without a pipeline; return the topics they emit."""
    assert settings.duration is not None
    start = session_clock(settings, virtual=True).now()
    _, devices = build_devices(settings, start)
    topics: set[str] = set()

    async def collect(topic: str, payload: dict[str, object]) -> None:
        topics.add(topic)

    for device in devices:
        await device.run(JumpClock(start), collect, until=start + settings.duration)
    return topics


@pytest.mark.anyio
async def test_every_enabled_source_has_rows(demo_run: tuple[Path, dict]) -> None:
    _, summary = demo_run
    settings = load_settings("demo", duration="PT2H")
    topics = await emitted_topics(settings)
    persisted = {
        spec.name: spec.table.name for spec in CATALOG.persisted() if spec.table
    }

    empty = [
        topic
        for topic in sorted(topics)
        if topic in persisted and not summary["rows"].get(persisted[topic])
    ]

    assert "digital.clipboard.raw" in topics
    assert "device.sensor.gps.raw" in topics
    assert empty == []


def test_summary_lists_tables_and_scores(demo_run: tuple[Path, dict]) -> None:
    _, summary = demo_run
    printed = summary["stdout"]

    assert "rows per table" in printed
    assert "device_sensor_gps_raw" in printed
    assert "ground-truth scores" in printed
    assert "step error" in printed


def test_demo_steps_within_five_percent(demo_run: tuple[Path, dict]) -> None:
    _, summary = demo_run
    steps = summary["steps"]

    assert steps, "the demo profile has phones with accelerometers"
    for score in steps:
        assert score["truth"] > 1000, score
        assert score["error"] <= 0.05, score


def test_demo_geofence_entries_match_visits(demo_run: tuple[Path, dict]) -> None:
    _, summary = demo_run
    visits = summary["visits"]

    assert visits
    for score in visits:
        assert score["expected"] >= 3, score
        assert score["missed"] == [], score
        assert score["spurious"] == [], score


def test_same_seed_gives_identical_tables(tmp_path: Path) -> None:
    digests = []
    for name in ("first", "second"):
        state_dir = tmp_path / name
        result = run_up(
            state_dir,
            "--profile",
            "demo",
            "--seed",
            "7",
            "--speed",
            "max",
            "--duration",
            "1h",
        )
        assert result.returncode == 0, result.stderr[-4000:]
        digests.append(table_digest(state_dir / "loomlite.db"))

    assert digests[0] == digests[1]


def test_ctrl_c_drains_and_exits(tmp_path: Path) -> None:
    command = [
        str(LOOMLITE),
        "up",
        "--profile",
        "demo",
        "--speed",
        "60",
        "--state-dir",
        str(tmp_path),
        "--no-panel",
    ]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if "pipeline running" in line:
                break
        else:
            pytest.fail("loomlite up ended before the pipeline ran")
        child.send_signal(signal.SIGINT)
        # A hang guard rather than a speed check: the drain takes about a
        # second, and a process still running after 30 s fails the test.
        output, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()

    assert child.returncode == 0, output[-4000:]
    assert "summary" in output
    assert (tmp_path / "summary.json").exists()


def _ingest(runtime: Runtime) -> IngestComponent:
    return next(c for c in runtime.components if isinstance(c, IngestComponent))


def _accepted_payloads(runtime: Runtime) -> int:
    return _ingest(runtime).statistics().accepted


@pytest.mark.anyio
@pytest.mark.parametrize("broker", ["memory", "durable"])
async def test_stop_during_walk_ends_inputs(tmp_path: Path, broker: str) -> None:
    # At 07:38 the demo owner starts a walk, so the accelerometer emits at
    # 10 Hz of event time, 600 messages a real second at speed 60. The run
    # has no duration: like Ctrl-C, only the stop event ends it.
    settings = load_settings(
        "demo",
        state_dir=tmp_path,
        broker=broker,
        speed=60.0,
        start=datetime.fromisoformat("2025-06-02T07:38:00+00:00"),
        simulators={"devices": 1, "desktop": False},
    )
    assert settings.duration is None
    stop = anyio.Event()
    started = anyio.Event()
    runtimes: list[Runtime] = []
    accepted_at_stop: list[int] = []

    def on_start(runtime: Runtime, clock: Clock, persist: object) -> None:
        runtimes.append(runtime)
        ingest = _ingest(runtime)
        stop_inputs = ingest.stop_inputs

        def record_and_stop() -> None:
            # The count when the session stops the inputs: tasks may run
            # between the stop event and this call.
            accepted_at_stop.append(_accepted_payloads(runtime))
            stop_inputs()

        ingest.stop_inputs = record_and_stop  # type: ignore[method-assign]
        started.set()

    async def stop_once_walking() -> None:
        await started.wait()
        runtime = runtimes[0]
        while _accepted_payloads(runtime) < 300:
            await runtime.wait_for_activity(timeout=1.0)
        stop.set()

    # A guard against a hang: simulators that go on emitting keep the drain
    # from ever becoming idle on the durable broker.
    with anyio.fail_after(90):
        async with anyio.create_task_group() as group:
            group.start_soon(stop_once_walking)
            report = await run_session(
                settings, virtual=False, stop=stop, on_start=on_start
            )

    # The one phone may finish the publish it had begun when the stop came.
    accepted_after = _accepted_payloads(runtimes[0])
    assert len(accepted_at_stop) >= 1
    assert accepted_at_stop[0] >= 300
    assert accepted_after - accepted_at_stop[0] <= 1
    # Returned at the stop, not cancelled later by the runtime's shutdown.
    states = [device.state for device in _ingest(runtimes[0]).simulators]
    assert states == [SimulatorState.FINISHED]
    assert report.messages.get("device.sensor.accelerometer.raw", 0) > 0
    assert report.rows.get("device_sensor_accelerometer_raw", 0) > 0
    assert report.total_errors == 0


@pytest.mark.anyio
async def test_failing_handler_is_counted_in_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = EnrichComponent.on_fixes_for_geocoding
    failed: list[str] = []
    calls = {"count": 0}

    async def fail_once(
        self: EnrichComponent, messages: Sequence[GPSReading], context: Context
    ) -> None:
        calls["count"] += 1
        if calls["count"] == 1:
            failed.extend(message.message_id for message in messages)
            raise RuntimeError("geocoder exploded on purpose")
        await original(self, messages, context)

    monkeypatch.setattr(EnrichComponent, "on_fixes_for_geocoding", fail_once)
    settings = load_settings(
        "demo",
        state_dir=tmp_path,
        duration="PT1H",
        simulators={"devices": 1, "desktop": False},
    )

    report = await run_session(settings, virtual=True)

    # Every fix of the failed batch is in the error topic and its table.
    assert failed
    assert report.errors.get("processing.errors.geocoding") == len(failed)
    with sqlite3.connect(tmp_path / "loomlite.db") as connection:
        stored = connection.execute(
            "SELECT error_type, error_message FROM processing_errors_geocoding"
        ).fetchall()
    connection.close()
    assert len(stored) == len(failed)
    assert {row[0] for row in stored} == {"RuntimeError"}
    assert {row[1] for row in stored} == {"geocoder exploded on purpose"}
    # The component kept running: later fixes were stored and geocoded.
    assert report.rows.get("device_sensor_gps_raw", 0) > len(failed)
    assert report.rows.get("location_address_geocoded", 0) >= 1


@pytest.mark.anyio
async def test_no_regions_means_no_visit_score(tmp_path: Path) -> None:
    # The ci profile configures no geofence, so no entry can be detected and
    # none is scored, although the simulated owner starts at home.
    settings = load_settings("ci", state_dir=tmp_path, duration="PT5M")

    report = await run_session(settings, virtual=True)

    assert settings.components.enrich.regions == ()
    assert report.visits == []
    assert len(report.steps) == settings.simulators.devices
