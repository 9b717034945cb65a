"""The codec the runtime uses to turn messages into record values and back."""

from __future__ import annotations

from typing import Protocol

from loomlite.contract.catalog import Catalog
from loomlite.contract.codec import decode, encode
from loomlite.contract.envelope import Envelope

__all__ = ["Codec", "ContractCodec"]


class Codec(Protocol):
    """Encodes messages for the broker and decodes record values of a topic."""

    def encode(self, message: Envelope) -> bytes: ...

    def decode(self, topic: str, value: bytes) -> Envelope:
        """Return the message in ``value``; raises MessageValidationError."""
        ...


class ContractCodec:
    """The contract's JSON encoding, decoding against a given catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def encode(self, message: Envelope) -> bytes:
        return encode(message)

    def decode(self, topic: str, value: bytes) -> Envelope:
        return decode(self.catalog.get(topic), value)
