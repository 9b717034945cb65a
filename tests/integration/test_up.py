"""`loomlite up` end to end: the demo profile, determinism, errors and Ctrl-C.

Each run is a real child process (or a real in-process session) on a SQLite
file in a temporary state directory, on virtual time (``--speed max``).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from loomlite.components.enrich.component import EnrichComponent
from loomlite.contract import CATALOG
from loomlite.contract.models import GPSReading
from loomlite.runtime.context import Context
from loomlite.runtime.profiles import load_settings
from loomlite.session import run_session

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
        started = time.monotonic()
        output, _ = child.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if child.poll() is None:
            child.kill()

    assert child.returncode == 0, output[-4000:]
    assert elapsed < 15
    assert "summary" in output
    assert (tmp_path / "summary.json").exists()


@pytest.mark.anyio
async def test_failing_handler_is_counted_in_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = EnrichComponent.on_fixes_for_geocoding
    calls = {"count": 0}

    async def fail_once(
        self: EnrichComponent, messages: Sequence[GPSReading], context: Context
    ) -> None:
        calls["count"] += 1
        if calls["count"] == 1:
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

    assert report.errors.get("processing.errors.geocoding", 0) >= 1
    assert report.rows.get("device_sensor_gps_raw", 0) > 1
    assert report.rows.get("location_address_geocoded", 0) >= 1
