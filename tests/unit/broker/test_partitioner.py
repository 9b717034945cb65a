"""Kafka's default partitioner, checked against Kafka's own test vectors."""

from __future__ import annotations

import pytest

from loomlite.broker.partitioner import murmur2, partition_for_key

# murmur2 results from Apache Kafka's UtilsTest.testMurmur2 (clients module).
KAFKA_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS)
def test_murmur2_matches_kafka(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_partition_masks_sign_bit() -> None:
    # murmur2(b"21") is negative. Kafka masks the sign bit before the modulo,
    # which gives 0 here, where abs(hash) % 3 would give 2.
    assert partition_for_key("21", 3) == (-973932308 & 0x7FFFFFFF) % 3
    assert partition_for_key("21", 3) == 0
    assert abs(-973932308) % 3 == 2


def test_partition_is_stable_and_in_range() -> None:
    for number in range(200):
        key = f"phone-{number}"
        partition = partition_for_key(key, 7)
        assert 0 <= partition < 7
        assert partition_for_key(key, 7) == partition


def test_partitions_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        partition_for_key("k", 0)
