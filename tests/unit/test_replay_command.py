"""``loomlite replay`` checks every message of a recording before publishing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from loomlite.broker.base import Record
from loomlite.cli import main
from loomlite.recording import encode_record

GPS = "device.sensor.gps.raw"
MOMENT = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)


def gps_line(offset: int, **fields: object) -> str:
    value = {
        "schema_version": 1,
        "message_id": f"00000000-0000-4000-8000-{offset:012d}",
        "trace_id": f"00000000-0000-4000-8000-{offset:012d}",
        "device_id": "phone-1",
        "recorded_at": "2025-06-02T07:00:00Z",
        "received_at": "2025-06-02T07:00:00Z",
        "latitude": 46.0,
        "longitude": 14.0,
        **fields,
    }
    encoded = json.dumps(value, separators=(",", ":")).encode()
    return encode_record(Record(GPS, 0, offset, MOMENT, "phone-1", encoded, ()))


def test_invalid_message_stops_replay(tmp_path: Path) -> None:
    recording = tmp_path / "bad.jsonl"
    lines = [gps_line(0), gps_line(1, schema_version=99), gps_line(2, latitude=200.0)]
    recording.write_text("\n".join(lines) + "\n", encoding="utf-8")
    state_dir = tmp_path / "state"

    result = CliRunner().invoke(
        main, ["replay", str(recording), "--state-dir", str(state_dir)]
    )

    assert result.exit_code == 1
    assert "2 message(s) of" in result.output
    assert "nothing was replayed" in result.output
    assert f"{GPS}[0]@1: " in result.output
    assert "version 99 is not supported" in result.output
    assert f"{GPS}[0]@2: " in result.output
    assert "Traceback" not in result.output
    assert not state_dir.exists()
