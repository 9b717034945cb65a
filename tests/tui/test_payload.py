"""Decoding, masking, filters and the small parsers behind the screens."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loomlite.broker.base import Record
from loomlite.clock import ManualClock
from loomlite.contract import CATALOG, encode
from loomlite.runtime.topology import EdgeKind, Topology
from loomlite.runtime.topology_file import read_topology_file, write_topology_file
from loomlite.tui.broker_file import BrokerFile
from loomlite.tui.payload import (
    MASK,
    decode_record,
    describe_binary,
    mask_payload,
    mask_text,
    matches_filters,
    parse_filters,
)
from loomlite.tui.screens.messages import parse_position, summarise
from loomlite.tui.snapshot import snapshot_from_json
from loomlite.tui.widgets import sparkline
from tests.tui.conftest import START, email, gps_fix, open_pipeline, speech_chunk

MOMENT = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def record(topic: str, value: bytes, key: str = "phone-0") -> Record:
    return Record(topic, 0, 7, MOMENT, key, value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me on +386 40 123 456 today", f"Call me on {MASK} today"),
        ("(040) 123-4567", MASK),
        ("+38640123456", MASK),
        ("ana.novak@example.org", f"{MASK}@{MASK}"),
        ("2025-06-02T08:00:00Z", "2025-06-02T08:00:00Z"),
        ("d9849d0159ff82ea24c4a376f2cb871d", "d9849d0159ff82ea24c4a376f2cb871d"),
        ("version 1.2.3", "version 1.2.3"),
    ],
)
def test_mask_text_cases(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_payload_hides_text_and_coordinates() -> None:
    payload = {
        "subject": "Dinner",
        "latitude": 46.434981,
        "nested": {"longitude": 13.748273, "note": "mail ana@example.org"},
        "recipients": ["me@example.org"],
        "device_id": "phone-0",
    }

    masked = mask_payload(payload)

    assert masked["subject"] == MASK
    assert masked["latitude"] == "46.4…"
    assert masked["nested"]["longitude"] == "13.7…"
    assert masked["nested"]["note"] == f"mail {MASK}@{MASK}"
    assert masked["recipients"] == [MASK]
    assert masked["device_id"] == "phone-0"


def test_decode_record_summarises_audio() -> None:
    chunk = speech_chunk()

    decoded = decode_record(record("device.audio.raw", encode(chunk)))

    assert decoded.payload["data"] == f"<audio/wav, {len(chunk.data):,} bytes>"
    assert decoded.trace_id == "trace-audio-000"
    assert decoded.device_id == "phone-0"


def test_decode_record_reports_invalid_json() -> None:
    decoded = decode_record(record("device.sensor.gps.raw", b"\x89PNG\r\n"))

    assert decoded.payload["undecodable"].startswith("invalid JSON")
    assert "<image/png, 6 bytes>" in decoded.payload["undecodable"]


def test_decode_record_opens_error_source() -> None:
    from tests.tui.conftest import geocoding_error

    error = geocoding_error(0)

    decoded = decode_record(record("processing.errors.geocoding", encode(error)))

    assert decoded.payload["source_value"]["message_id"] == "gps-phone-0-100"


def test_describe_binary_unknown_type() -> None:
    assert describe_binary(b"\x00\x01") == "<application/octet-stream, 2 bytes>"


def test_filters_match_device_key_and_fields() -> None:
    decoded = decode_record(record("external.email.events.raw", encode(email(1))))

    assert matches_filters(decoded, parse_filters("device=mailbox"))
    assert matches_filters(decoded, parse_filters("key=phone-0"))
    assert matches_filters(decoded, parse_filters("sender=ana.novak@example.org"))
    assert not matches_filters(decoded, parse_filters("email_id=None"))
    assert not matches_filters(decoded, parse_filters("device=phone-1"))


def test_parse_filters_rejects_bare_word() -> None:
    with pytest.raises(ValueError, match="invalid filter 'phone-0'"):
        parse_filters("device=x phone-0")


def test_parse_position_forms() -> None:
    assert parse_position("") == "end"
    assert parse_position("start") == "start"
    assert parse_position("1200") == 1200
    assert parse_position("2025-06-02T08:00:00Z") == MOMENT
    assert parse_position("2025-06-02T08:00:00") == MOMENT
    with pytest.raises(ValueError, match="invalid start position 'soon'"):
        parse_position("soon")


@pytest.mark.parametrize("text", ["²", "-5", "1e3", "0x10"])
def test_parse_position_rejects_odd_numbers(text: str) -> None:
    with pytest.raises(ValueError, match=f"invalid start position {text!r}"):
        parse_position(text)


def test_summarise_skips_envelope_and_ids() -> None:
    payload = {"message_id": "m", "id": 4, "x": 1, "hash_hash": "h", "y": None}

    assert summarise(payload) == "x=1"


def test_sparkline_scales_to_max() -> None:
    assert sparkline([0, 1, 2]) == "▁▅█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""
    assert len(sparkline(range(100), width=20)) == 20


def test_statistics_of_another_version_rejected() -> None:
    with pytest.raises(ValueError, match="version 2"):
        snapshot_from_json({"version": 2})


def test_topology_file_round_trip(tmp_path: Path) -> None:
    # The pipeline is built but never started, because only its components
    # are needed.
    parts = open_pipeline(tmp_path, "memory", ManualClock(START)).components
    topology = Topology.from_components(
        parts, CATALOG, inputs=["device.sensor.gps.raw"]
    )

    path = write_topology_file(tmp_path, topology)
    names, edges, warnings = read_topology_file(path)

    assert names == tuple(sorted(c.name for c in topology.components))
    assert edges == topology.edges()
    assert warnings == topology.lint().warnings
    assert any(edge.kind is EdgeKind.STORES for edge in edges)


def test_topology_file_of_another_version_rejected(tmp_path: Path) -> None:
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"version": 9, "edges": []}))

    with pytest.raises(ValueError, match="not a version 1 topology document"):
        read_topology_file(path)


def test_broker_file_missing_names_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="LOOMLITE_BROKER=durable"):
        BrokerFile(tmp_path / "broker.sqlite3")


def test_gps_fix_payload_keeps_device() -> None:
    decoded = decode_record(record("device.sensor.gps.raw", encode(gps_fix(3))))

    assert decoded.payload["latitude"] == pytest.approx(46.435281)
    assert decoded.message_id == "gps-phone-0-003"
