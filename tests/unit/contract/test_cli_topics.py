"""``loomlite topics`` and ``loomlite schemas export`` through click."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from loomlite.cli import main
from loomlite.contract import CATALOG


def test_topics_json_lists_every_topic() -> None:
    result = CliRunner().invoke(main, ["topics", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [entry["name"] for entry in listed] == list(CATALOG.names)
    for entry in listed:
        spec = CATALOG.get(entry["name"])
        assert entry["aliases"] == list(spec.aliases)
        assert entry["version"] == spec.version
        assert entry["model"] == spec.model.__name__
        assert entry["kind"] == spec.kind.value
        assert entry["partitions"] == spec.partitions
        retention = entry["retention"]
        assert set(retention) == {"max_age_seconds", "max_records", "max_bytes"}
        assert (entry["table"] is None) != (entry["not_persisted_reason"] is None)
        assert entry["description"] == spec.description


def test_topics_json_entry_for_heart_rate() -> None:
    result = CliRunner().invoke(main, ["topics", "--json"])
    entries = {entry["name"]: entry for entry in json.loads(result.output)}
    heart = entries["device.health.heartrate.raw"]
    assert heart["aliases"] == ["device.sensor.heartrate.raw"]
    assert heart["retention"]["max_age_seconds"] == 60 * 86400
    assert heart["table"] == "device_health_heartrate_raw"
    assert heart["natural_key"] == ["device_id", "recorded_at"]
    assert heart["not_persisted_reason"] is None
    rss = entries["external.rss.items.raw"]
    assert rss["table"] is None
    assert rss["natural_key"] is None
    assert "No loomlite stage" in rss["not_persisted_reason"]


def test_topics_kind_filter() -> None:
    result = CliRunner().invoke(main, ["topics", "--json", "--kind", "error"])
    assert result.exit_code == 0, result.output
    kinds = {entry["kind"] for entry in json.loads(result.output)}
    assert kinds == {"error"}


def test_topics_table() -> None:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["topics"])
    assert result.exit_code == 0, result.output
    assert "device.health.heartrate.raw" in result.output
    assert "device.sensor.heartrate.raw" in result.output
    assert "HeartRateReading v1" in result.output


def test_schemas_export_writes_files(tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = CliRunner().invoke(main, ["schemas", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {len(CATALOG)} schema files and index.json to {target}" in (
        result.output
    )
    assert (target / "index.json").is_file()
    assert (target / "device/sensor/gps/raw/v1.json").is_file()


def test_schemas_export_unwritable_is_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")

    result = CliRunner().invoke(main, ["schemas", "export", str(blocker / "out")])

    assert result.exit_code == 1
    assert "cannot write schema files to" in result.output
    assert "choose a writable DIRECTORY" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_schemas_help() -> None:
    result = CliRunner().invoke(main, ["schemas", "export", "--help"])
    assert result.exit_code == 0
    assert "draft 2020-12" in result.output
