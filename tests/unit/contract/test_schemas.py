"""JSON Schema export: valid draft 2020-12 files that accept real messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from loomlite.contract import CATALOG, TopicSpec, encode, export_schemas
from tests.unit.contract.samples import sample_message


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    directory = tmp_path_factory.mktemp("schemas")
    return directory, export_schemas(directory)


def test_one_file_per_topic_version(exported: tuple[Path, list[Path]]) -> None:
    directory, written = exported
    versions = sum(len(spec.models) for spec in CATALOG)
    assert len(written) == versions + 1
    assert written[-1] == directory / "index.json"
    assert (directory / "device/sensor/gps/raw/v1.json").is_file()
    assert (directory / "processing/errors/vad/v1.json").is_file()


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda spec: spec.name)
def test_schema_is_valid_and_accepts_sample(
    exported: tuple[Path, list[Path]], spec: TopicSpec
) -> None:
    directory, _ = exported
    path = directory.joinpath(*spec.name.split("."), f"v{spec.version}.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:loomlite:topic:{spec.name}:v{spec.version}"
    assert schema["title"].startswith(spec.name)
    assert schema["description"] == spec.description
    instance = json.loads(encode(sample_message(spec)))
    Draft202012Validator(schema).validate(instance)


def test_schema_rejects_unknown_field(exported: tuple[Path, list[Path]]) -> None:
    directory, _ = exported
    schema = json.loads((directory / "device/sensor/gps/raw/v1.json").read_text())
    instance = json.loads(encode(sample_message(CATALOG.get("device.sensor.gps.raw"))))
    instance["bearing"] = 10.0
    assert not Draft202012Validator(schema).is_valid(instance)


def test_schema_marks_binary_as_base64(exported: tuple[Path, list[Path]]) -> None:
    directory, _ = exported
    schema = json.loads((directory / "device/audio/raw/v1.json").read_text())
    data = schema["properties"]["data"]
    assert data["type"] == "string"
    assert data["contentEncoding"] == "base64"


def test_index_lists_topics_and_aliases(exported: tuple[Path, list[Path]]) -> None:
    directory, _ = exported
    index = json.loads((directory / "index.json").read_text())
    entries = {entry["name"]: entry for entry in index["topics"]}
    assert set(entries) == set(CATALOG.names)
    heart = entries["device.health.heartrate.raw"]
    assert heart["aliases"] == ["device.sensor.heartrate.raw"]
    assert heart["files"] == {"1": "device/health/heartrate/raw/v1.json"}
    assert heart["version"] == 1
    assert heart["kind"] == "raw"
    for entry in index["topics"]:
        for relative in entry["files"].values():
            assert (directory / relative).is_file()


def test_export_overwrites(tmp_path: Path) -> None:
    first = export_schemas(tmp_path)
    second = export_schemas(tmp_path)
    assert first == second
