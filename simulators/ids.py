"""Seeded random streams and identifiers for the simulators.

Every random choice a simulator makes comes from a ``numpy.random.Generator``
built by ``derive_rng(seed, *labels)``. The labels name the simulator and the
source inside it, so each source draws from its own stream: switching one
source off or changing its interval leaves the payloads of the others as they
were. Labels are hashed with SHA-256, never with Python's ``hash``, whose
value changes between processes.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np

__all__ = ["IdGenerator", "derive_rng", "derive_seed", "device_uuid"]


def derive_seed(seed: int, *labels: str | int) -> list[int]:
    """Return the entropy list that seeds the stream named by ``labels``.

    The list contains ``seed`` and four 32-bit words of the SHA-256 digest of
    the labels, so two label tuples give independent streams for one seed.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    text = "\x1f".join(str(label) for label in labels)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return [seed, *words]


def derive_rng(seed: int, *labels: str | int) -> np.random.Generator:
    """Return the random generator of the stream named by ``labels``."""
    return np.random.default_rng(derive_seed(seed, *labels))


def device_uuid(seed: int, name: str) -> str:
    """Return a stable UUID-format device id for simulator ``name``.

    Production's ingestion API accepted only UUID-format device ids from
    devices, so simulated phones and desktops use one too.
    """
    generator = derive_rng(seed, "device-id", name)
    return str(uuid.UUID(bytes=generator.bytes(16), version=4))


class IdGenerator:
    """Identifiers drawn from one seeded stream: UUIDs, hex strings, MACs.

    Random bytes are drawn from the generator in blocks, because one call per
    id costs more than the id itself. The sequence of ids depends only on the
    generator's seed and the order of calls.
    """

    _BLOCK = 4096

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator
        self._buffer = b""
        self._position = 0

    def uuid4(self) -> str:
        """Return a random version 4 UUID in canonical text form."""
        raw = bytearray(self._take(16))
        # Version 4 in the high nibble of byte 6, RFC 4122 variant in byte 8,
        # as uuid.UUID(bytes=..., version=4) sets them.
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        digits = raw.hex()
        return (
            f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
        )

    def hex(self, length: int) -> str:
        """Return ``length`` random lower-case hexadecimal digits."""
        if length <= 0:
            raise ValueError(f"length must be positive, got {length!r}")
        return self._take((length + 1) // 2).hex()[:length]

    def mac_address(self) -> str:
        """Return a random unicast, locally administered MAC address."""
        octets = bytearray(self._take(6))
        # Bit 1 of the first octet marks a locally administered address and
        # bit 0 a multicast one; phones randomise their MACs the same way.
        octets[0] = (octets[0] | 0x02) & 0xFE
        return ":".join(f"{octet:02X}" for octet in octets)

    def _take(self, count: int) -> bytes:
        if self._position + count > len(self._buffer):
            remaining = self._buffer[self._position :]
            self._buffer = remaining + self._generator.bytes(self._BLOCK)
            self._position = 0
        chunk = self._buffer[self._position : self._position + count]
        self._position += count
        return chunk
