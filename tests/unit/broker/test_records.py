"""Record, RecordMetadata and TopicPartition: tuples underneath, with the
constructors and attributes of the broker interface."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest

from loomlite.broker import Record, RecordMetadata, TopicPartition
from loomlite.broker.base import nanos_to_timestamp, timestamp_to_nanos

WHEN = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def make_record() -> Record:
    return Record(
        "device.audio.raw", 2, 41, WHEN, "phone-1", b"chunk", (("a", b"1"), ("a", b"2"))
    )


def test_record_attributes() -> None:
    record = make_record()
    assert record.topic == "device.audio.raw"
    assert record.partition == 2
    assert record.offset == 41
    assert record.timestamp == WHEN
    assert record.timestamp_ns == timestamp_to_nanos(WHEN)
    assert record.key == "phone-1"
    assert record.value == b"chunk"
    assert record.headers == (("a", b"1"), ("a", b"2"))
    assert record.header("a") == b"2"
    assert record.size == len("phone-1") + len(b"chunk") + 2 * (1 + 1)


def test_record_copies_compare_equal() -> None:
    record = make_record()
    restored = pickle.loads(pickle.dumps(record))
    assert restored == record
    assert hash(restored) == hash(record)
    assert type(restored) is Record
    assert copy.copy(record) == record


def test_record_is_its_metadata() -> None:
    record = make_record()
    assert isinstance(record, RecordMetadata)
    metadata = RecordMetadata("device.audio.raw", 2, 41, WHEN)
    assert (metadata.topic, metadata.partition, metadata.offset) == (
        record.topic,
        record.partition,
        record.offset,
    )
    assert pickle.loads(pickle.dumps(metadata)) == metadata


def test_record_repr_shortens_value() -> None:
    record = Record("t", 0, 0, WHEN, None, b"x" * 100)
    assert "<100 bytes>" in repr(record)
    assert "b'chunk'" in repr(make_record())


def test_timestamp_normalised_to_utc() -> None:
    eastern = WHEN.astimezone(timezone(timedelta(hours=-5)))
    record = Record("t", 0, 0, eastern, None, b"")
    assert record.timestamp == WHEN
    assert record.timestamp.tzinfo == UTC


def test_naive_timestamp_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp_to_nanos(WHEN.replace(tzinfo=None))
    with pytest.raises(TypeError, match="datetime"):
        timestamp_to_nanos("2024-05-01")  # type: ignore[arg-type]


def test_nanos_round_trip() -> None:
    assert nanos_to_timestamp(timestamp_to_nanos(WHEN)) == WHEN
    assert nanos_to_timestamp(1_999) == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_topic_partition_behaves_like_value() -> None:
    tp = TopicPartition("t", 3)
    assert (tp.topic, tp.partition) == ("t", 3)
    assert str(tp) == "t[3]"
    assert repr(tp) == "TopicPartition(topic='t', partition=3)"
    assert sorted([TopicPartition("t", 2), TopicPartition("s", 9), tp]) == [
        TopicPartition("s", 9),
        TopicPartition("t", 2),
        tp,
    ]
    assert {tp: 1}[TopicPartition("t", 3)] == 1
    assert pickle.loads(pickle.dumps(tp)) == tp
