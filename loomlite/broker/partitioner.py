"""Kafka's default partitioner: murmur2 of the key bytes, made positive, modulo
the partition count.

A key therefore lands on the same partition in loomlite and in a Kafka
cluster with the same partition count, so moving a deployment to Kafka keeps
each device's records in one partition.
"""

from __future__ import annotations

__all__ = ["murmur2", "partition_for_key"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Return the 32-bit murmur2 hash of ``data`` as a signed int, as Kafka's
    Java client computes it (seed 0x9747b28c, little-endian 4-byte words)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4

    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k

    tail = length - whole
    if tail:
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * _M) & _MASK

    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: str, partitions: int) -> int:
    """Return the partition of ``key`` among ``partitions``, as Kafka's default
    partitioner chooses it for a record with a non-null key."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
