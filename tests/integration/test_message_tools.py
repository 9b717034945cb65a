"""loomlite tail, record, replay, seek and redrive on a durable state directory.

Each test runs a pipeline from loomlite.testing on the durable broker, stops
it, and runs the commands in this process with click's CliRunner, as a user
runs them between two ``loomlite up`` runs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result

from loomlite.cli import main
from loomlite.components.enrich.component import EnrichComponent
from loomlite.contract import CATALOG, ProcessingError, decode
from loomlite.contract.models import AudioChunk, GPSReading
from loomlite.recording import decode_line
from loomlite.runtime.context import Context
from loomlite.runtime.redrive import pending_errors
from loomlite.testing import database_digest, pipeline

pytestmark = pytest.mark.slow

START = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
GPS = "device.sensor.gps.raw"
PLACES = "location_address_geocoded"
GEOCODING_ERRORS = "processing.errors.geocoding"


def invoke(*arguments: str) -> Result:
    result = CliRunner().invoke(main, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def sqlite_url(state_dir: Path) -> str:
    return f"sqlite:///{state_dir.as_posix()}/loomlite.db"


def digest(state_dir: Path, **bounds: Any) -> str:
    return anyio.run(lambda: database_digest(sqlite_url(state_dir), CATALOG, **bounds))


def count_rows(state_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(state_dir / "loomlite.db") as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name != 'alembic_version'"
            )
        ]
        return sum(
            connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in tables
        )


# -- record and replay ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirty virtual minutes of the demo profile (one phone and the
    fetchers) on the durable broker, from 07:00 as the owner wakes up."""
    state_dir = tmp_path_factory.mktemp("demo")

    async def run() -> None:
        demo = pipeline(
            "demo",
            components=["ingest", "ai", "enrich", "external", "persist"],
            broker="durable",
            state_dir=state_dir,
            simulate=True,
            start=START,
            duration="PT30M",
            simulators={"devices": 1, "desktop": False},
        )
        async with demo as p:
            await p.run_for(timedelta(minutes=30))
            await p.flush()

    anyio.run(run)
    return state_dir


@pytest.fixture(scope="module")
def demo_recording(demo_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    recording = tmp_path_factory.mktemp("recording") / "demo.jsonl"
    invoke("record", "--all", "--state-dir", str(demo_state), "-o", str(recording))
    return recording


def test_record_writes_binary_losslessly(demo_recording: Path) -> None:
    lines = demo_recording.read_text(encoding="utf-8").splitlines()
    audio = [
        decode_line(line) for line in lines if '"topic":"device.audio.raw"' in line
    ]
    chunks = [decode("device.audio.raw", message.value) for message in audio]

    assert len(lines) > 100
    assert audio, "the demo phone records audio"
    assert all(isinstance(chunk, AudioChunk) for chunk in chunks)
    assert all(chunk.data[:4] == b"RIFF" for chunk in chunks)
    assert [message.key for message in audio] == [c.device_id for c in chunks]
    stamps = [json.loads(line)["timestamp"] for line in lines]
    assert stamps == sorted(stamps, key=datetime.fromisoformat)


def test_replay_at_max_gives_same_rows(
    demo_state: Path, demo_recording: Path, tmp_path: Path
) -> None:
    result = invoke(
        "replay", str(demo_recording), "--speed", "max", "--state-dir", str(tmp_path)
    )

    assert "replayed" in result.output
    assert count_rows(tmp_path) == count_rows(demo_state)
    assert count_rows(tmp_path) > 100
    assert digest(tmp_path) == digest(demo_state)


def test_replay_slice_at_real_time(
    demo_state: Path, demo_recording: Path, tmp_path: Path
) -> None:
    # Six seconds from the first audio chunk (5 s long), so the slice contains
    # speech and what the ai component derived from it.
    first_audio = next(
        decode_line(line)
        for line in demo_recording.read_text(encoding="utf-8").splitlines()
        if '"topic":"device.audio.raw"' in line
    )
    start = first_audio.timestamp
    end = start + timedelta(seconds=6)
    recording = tmp_path / "slice.jsonl"
    invoke(
        "record",
        "--all",
        "--from-time",
        start.isoformat(),
        "--to-time",
        end.isoformat(),
        "--state-dir",
        str(demo_state),
        "-o",
        str(recording),
    )
    replayed = tmp_path / "replayed"

    invoke("replay", str(recording), "--speed", "1", "--state-dir", str(replayed))

    assert recording.read_text(encoding="utf-8").count("\n") >= 3
    assert count_rows(replayed) > 0
    assert digest(replayed) == digest(demo_state, start=start, end=end)


def test_replay_into_log_keeps_event_times(
    demo_recording: Path, tmp_path: Path
) -> None:
    invoke("replay", str(demo_recording), "--into", "log", "--state-dir", str(tmp_path))
    result = invoke("tail", GPS, "-n", "3", "--json", "--state-dir", str(tmp_path))

    recorded = [
        json.loads(line)
        for line in demo_recording.read_text(encoding="utf-8").splitlines()
        if f'"topic":"{GPS}"' in line
    ]
    tailed = [json.loads(line) for line in result.output.splitlines()]
    assert [item["value"] for item in tailed] == [
        item["value"] for item in recorded[-3:]
    ]
    assert [item["timestamp"] for item in tailed] == [
        item["timestamp"] for item in recorded[-3:]
    ]


def test_record_rejects_naive_time() -> None:
    result = CliRunner().invoke(
        main,
        ["record", "--all", "--from-time", "2025-06-02T07:00:00"],
    )

    assert result.exit_code == 2
    assert "add a UTC offset" in result.output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--from-offset", "5", "--to-offset", "2"], "--to-offset 2 must be greater"),
        (["--from-offset", "3", "--to-offset", "3"], "--to-offset 3 must be greater"),
        (
            [
                "--from-time",
                "2025-06-02T08:00:00Z",
                "--to-time",
                "2025-06-02T07:00:00Z",
            ],
            "must be later than --from-time 2025-06-02T08:00:00+00:00",
        ),
    ],
)
def test_record_rejects_empty_range(arguments: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, ["record", "--all", *arguments])

    assert result.exit_code == 2
    assert expected in result.output


# -- seek ----------------------------------------------------------------------


def test_seek_moves_committed_offsets(demo_state: Path, tmp_path: Path) -> None:
    import shutil

    state_dir = tmp_path / "state"
    shutil.copytree(demo_state, state_dir)
    group = "enrich.geocoding"

    moved = invoke(
        "seek", group, GPS, "--to-offset", "0", "--state-dir", str(state_dir)
    )
    by_time = invoke(
        "seek",
        group,
        GPS,
        "--to-time",
        (START + timedelta(minutes=5)).isoformat(),
        "--state-dir",
        str(state_dir),
    )

    assert f"{group} {GPS}[0]:" in moved.output
    assert moved.output.strip().endswith("-> 0")
    new_offset = int(by_time.output.strip().rsplit(" ", 1)[-1])
    assert new_offset > 0
    unknown = CliRunner().invoke(
        main, ["seek", "nobody", GPS, "--to-offset", "0", "--state-dir", str(state_dir)]
    )
    assert unknown.exit_code == 1
    assert "unknown consumer group 'nobody'" in unknown.output


# -- redrive -------------------------------------------------------------------


def fix(latitude: float, minute: int) -> GPSReading:
    moment = START + timedelta(minutes=minute)
    return GPSReading(
        device_id="phone-1",
        recorded_at=moment,
        received_at=moment,
        latitude=latitude,
        longitude=14.3627,
    )


def failing_geocoder(limit: dict[str, float]) -> Any:
    """Wrap the geocoding handler so that it fails north of ``limit["value"]``."""
    original = EnrichComponent.on_fixes_for_geocoding

    async def handler(
        self: EnrichComponent, messages: Sequence[GPSReading], context: Context
    ) -> None:
        for message in messages:
            if message.latitude > limit["value"]:
                raise ValueError(
                    f"latitude {message.latitude} is north of {limit['value']}"
                )
        await original(self, messages, context)

    return handler


async def run_geocoder(state_dir: Path, fixes: Sequence[GPSReading]) -> None:
    test = pipeline(
        components=["enrich", "persist"],
        broker="durable",
        state_dir=state_dir,
        start=START,
    )
    async with test as p:
        # One fix per batch, so that a failure sends only its own record to
        # the error topic.
        for reading in fixes:
            await p.publish(GPS, reading)
            await p.run_until_idle()
        await p.run_until_idle()


async def pending(state_dir: Path) -> list[ProcessingError]:
    from loomlite.cli.logs import open_state_broker

    async with open_state_broker(state_dir) as broker:
        entries = await pending_errors(broker, GEOCODING_ERRORS)
    return [entry.error for entry in entries if entry.error is not None]


async def place_rows(state_dir: Path) -> list[dict[str, Any]]:
    from loomlite.testing import read_rows

    return await read_rows(sqlite_url(state_dir), PLACES, CATALOG)


def test_redrive_lands_fixed_and_keeps_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = {"value": 45.0}
    monkeypatch.setattr(
        EnrichComponent, "on_fixes_for_geocoding", failing_geocoder(limit)
    )
    fixes = [fix(45.7936, 0), fix(46.0, 1), fix(60.0, 2)]
    state = ["--state-dir", str(tmp_path)]

    anyio.run(run_geocoder, tmp_path, fixes)
    first_errors = anyio.run(pending, tmp_path)
    listed = invoke("redrive", GEOCODING_ERRORS, "--list", *state)

    # The fix lets two of the three fixes geocode. The geocoding handler takes
    # a batch, and one failing record fails its whole batch, so the fixed
    # records are redriven on their own first.
    limit["value"] = 50.0
    fixed_ids = [
        e.message_id for e in first_errors if e.recorded_at < fixes[2].recorded_at
    ]
    selected = [argument for i in fixed_ids for argument in ("--message-id", i)]
    fixed = invoke("redrive", GEOCODING_ERRORS, *selected, *state)
    anyio.run(run_geocoder, tmp_path, [])
    rows = anyio.run(place_rows, tmp_path)

    rest = invoke("redrive", GEOCODING_ERRORS, *state)
    anyio.run(run_geocoder, tmp_path, [])
    still_failing = anyio.run(pending, tmp_path)
    rows_after = anyio.run(place_rows, tmp_path)

    assert len(first_errors) == 3
    assert "3 pending record(s)" in listed.output
    assert "2 redriven, 0 discarded, 1 pending" in fixed.output
    assert sorted(row["latitude"] for row in rows) == [45.7936, 46.0]
    assert "1 redriven, 0 discarded, 0 pending" in rest.output
    assert len(still_failing) == 1
    again = still_failing[0]
    assert again.source_topic == GPS
    assert again.error_type == "ValueError"
    assert "north of 50.0" in again.error_message
    assert again.message_id not in {error.message_id for error in first_errors}
    assert again.recorded_at == fixes[2].recorded_at
    assert len(rows_after) == 2


# Derived tables and their columns without the ids and receive times, which
# a new run stamps anew.
DERIVED_COLUMNS = {
    "media_audio_vad_filtered": (
        "trace_id, device_id, recorded_at, segment_start_ms, segment_end_ms"
    ),
    "media_text_transcribed_words": "trace_id, device_id, recorded_at, text",
    "analysis_text_embedded_transcripts": (
        "trace_id, device_id, recorded_at, embedding"
    ),
    "location_address_geocoded": (
        "trace_id, device_id, recorded_at, latitude, longitude, place_name"
    ),
}


def table_rows(state_dir: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state_dir / "loomlite.db") as connection:
        rows = connection.execute(f"SELECT {columns} FROM {table}").fetchall()
    connection.close()
    return sorted(rows)


def test_replay_with_process_derives_same_rows(
    demo_state: Path, demo_recording: Path, tmp_path: Path
) -> None:
    result = invoke(
        "replay", str(demo_recording), "--process", "--state-dir", str(tmp_path)
    )

    assert "replayed" in result.output
    for table, columns in DERIVED_COLUMNS.items():
        original = table_rows(demo_state, table, columns)
        assert original, f"the demo run wrote no rows to {table}"
        assert table_rows(tmp_path, table, columns) == original, table


def test_replay_rekey_keys_by_device(demo_recording: Path, tmp_path: Path) -> None:
    fixes = [
        json.loads(line)
        for line in demo_recording.read_text(encoding="utf-8").splitlines()
        if f'"topic":"{GPS}"' in line
    ]
    recording = tmp_path / "other-keys.jsonl"
    with recording.open("w", encoding="utf-8") as output:
        for item in fixes:
            output.write(json.dumps({**item, "key": "not-the-device"}) + "\n")
    state_dir = tmp_path / "state"

    result = invoke(
        "replay",
        str(recording),
        "--rekey",
        "--into",
        "log",
        "--state-dir",
        str(state_dir),
    )
    tailed = invoke("tail", GPS, "-n", "5", "--json", "--state-dir", str(state_dir))

    assert fixes
    assert f"re-keyed {len(fixes)} message(s)" in result.output
    keys = {json.loads(line)["key"] for line in tailed.output.splitlines()}
    assert keys == {item["value"]["device_id"] for item in fixes}


async def create_broker_file(state_dir: Path) -> None:
    from loomlite.broker import DurableBroker
    from loomlite.replay import create_catalog_topics

    async with DurableBroker(state_dir / "broker.sqlite3") as broker:
        await create_catalog_topics(broker)


def test_redrive_unknown_id_is_error(tmp_path: Path) -> None:
    anyio.run(create_broker_file, tmp_path)

    result = CliRunner().invoke(
        main,
        [
            "redrive",
            GEOCODING_ERRORS,
            "--message-id",
            "no-such-id",
            "--state-dir",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 1
    assert "'no-such-id' is not a pending record" in result.output
    assert "--list" in result.output
    assert "0 redriven, 0 discarded, 0 pending" in result.output


def test_replay_into_log_rejects_process(tmp_path: Path) -> None:
    recording = tmp_path / "empty.jsonl"
    recording.write_text("")

    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(recording),
            "--into",
            "log",
            "--process",
            "--state-dir",
            str(tmp_path / "state"),
        ],
    )

    assert result.exit_code == 2
    assert "--process works only with --into runtime" in result.output
