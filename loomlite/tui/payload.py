"""Turn broker records into display-ready dictionaries.

Binary fields (audio, images, documents) are replaced by a one-line summary
of their size and type, so a screen never renders megabytes of base64. With
masking on, personal values are hidden: message text, email addresses,
phone numbers and coordinates finer than about 11 km (one decimal place).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loomlite.broker.base import Record
from loomlite.contract import CATALOG
from loomlite.errors import UnknownTopicError

__all__ = [
    "MASK",
    "DecodedRecord",
    "binary_fields",
    "decode_record",
    "describe_binary",
    "mask_payload",
    "matches_filters",
    "parse_filters",
]

MASK = "•••"

# Fields whose values are text a person wrote or spoke, or names and
# addresses of people. Masking replaces their whole value.
_TEXT_FIELDS = frozenset(
    {
        "text",
        "body",
        "body_html",
        "cc",
        "subject",
        "summary",
        "description",
        "title",
        "word",
        "tweet_text",
        "text_content",
        "caption",
        "sender",
        "recipients",
        "organizer",
        "author",
        "attendees",
        "snippet",
        "content",
        "message",
    }
)
_COORDINATE_FIELDS = frozenset({"latitude", "longitude", "lat", "lon", "lng"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# A phone number: '+' and 7 to 15 digits, or three to six groups of digits
# split by spaces, dots, dashes or brackets. Neither may touch a letter,
# digit, dot or dash, so ISO dates ("2025-06-02T08:00") and hex hashes stay.
_PHONE = re.compile(
    r"(?<![\w.+-])(?:\+\d{7,15}|\+?\(?\d{1,4}\)?(?:[\s.-]\(?\d{2,4}\)?){2,5})(?![\w.-])"
)

# Magic bytes of the binary formats the simulators and clients send.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"RIFF", "audio/wav"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF", "application/pdf"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"GIF8", "image/gif"),
)


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """One record with its envelope fields pulled out for tables and filters.

    ``payload`` is the decoded JSON object with binary fields summarised, or
    ``{"undecodable": ...}`` naming why the value is not a JSON object.
    """

    record: Record
    payload: dict[str, Any]

    @property
    def trace_id(self) -> str | None:
        value = self.payload.get("trace_id")
        return value if isinstance(value, str) else None

    @property
    def message_id(self) -> str | None:
        value = self.payload.get("message_id")
        return value if isinstance(value, str) else None

    @property
    def device_id(self) -> str | None:
        value = self.payload.get("device_id")
        return value if isinstance(value, str) else self.record.key

    @property
    def received_at(self) -> datetime | None:
        return _parse_time(self.payload.get("received_at"))


@functools.cache
def binary_fields(topic: str) -> frozenset[str]:
    """Return the names of the fields of ``topic``'s models that carry bytes."""
    try:
        spec = CATALOG.get(topic)
    except UnknownTopicError:
        return frozenset()
    names: set[str] = set()
    for model in spec.models.values():
        for name, info in model.model_fields.items():
            if _is_bytes(info.annotation):
                names.add(name)
    return frozenset(names)


def _is_bytes(annotation: Any) -> bool:
    if annotation is bytes:
        return True
    return any(_is_bytes(argument) for argument in typing.get_args(annotation))


def describe_binary(data: bytes) -> str:
    """Return ``<type, size>`` for ``data``, e.g. ``<audio/wav, 160,044 bytes>``."""
    kind = "application/octet-stream"
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            kind = name
            break
    return f"<{kind}, {len(data):,} bytes>"


def _describe_base64(text: str) -> str:
    # Only the head is decoded for the type; the size follows from the length.
    padding = len(text) - len(text.rstrip("="))
    size = len(text) * 3 // 4 - padding
    try:
        head = base64.b64decode(text[:24], validate=False)
    except (binascii.Error, ValueError):
        return f"<invalid base64, {len(text):,} characters>"
    kind = describe_binary(head).split(",")[0]
    return f"{kind}, {size:,} bytes>"


def decode_record(record: Record) -> DecodedRecord:
    """Decode ``record`` as JSON and summarise its binary fields.

    An error message's ``source_value`` is decoded too, as a record of its
    ``source_topic``, so the failed payload shows as fields.
    """
    try:
        document = json.loads(record.value)
    except (UnicodeDecodeError, ValueError) as exc:
        return DecodedRecord(
            record,
            {"undecodable": f"invalid JSON ({exc}); {describe_binary(record.value)}"},
        )
    if not isinstance(document, dict):
        kind = type(document).__name__
        return DecodedRecord(record, {"undecodable": f"expected an object, got {kind}"})
    return DecodedRecord(record, _summarise(record.topic, document))


def _summarise(topic: str, document: dict[str, Any]) -> dict[str, Any]:
    binary = binary_fields(topic)
    result: dict[str, Any] = {}
    for name, value in document.items():
        if name in binary and isinstance(value, str):
            result[name] = _describe_base64(value)
        else:
            result[name] = value
    source = document.get("source_value")
    source_topic = document.get("source_topic")
    if isinstance(source, str) and isinstance(source_topic, str):
        result["source_value"] = _decode_source(source_topic, source)
    return result


def _decode_source(topic: str, text: str) -> Any:
    try:
        data = base64.b64decode(text, validate=True)
        document = json.loads(data)
    except (binascii.Error, ValueError):
        return _describe_base64(text)
    if not isinstance(document, dict):
        return _describe_base64(text)
    return _summarise(topic, document)


def mask_payload(value: Any, field: str | None = None) -> Any:
    """Return ``value`` with personal fields and patterns masked, recursively."""
    if isinstance(value, Mapping):
        return {key: mask_payload(item, str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_payload(item, field) for item in value]
    if field in _COORDINATE_FIELDS and isinstance(value, int | float):
        return f"{value:.1f}…"
    if field in _TEXT_FIELDS and value is not None:
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_text(text: str) -> str:
    """Replace email addresses and phone numbers in ``text``."""
    text = _EMAIL.sub(MASK + "@" + MASK, text)
    return _PHONE.sub(MASK, text)


def parse_filters(text: str) -> dict[str, str]:
    """Parse ``name=value`` terms separated by spaces.

    ``device`` and ``key`` filter on the device id and the record key; any
    other name is a payload field, dotted for nested fields
    (``source_value.device_id``). Raises ValueError naming a term without
    ``=``.
    """
    filters: dict[str, str] = {}
    for term in text.split():
        name, separator, expected = term.partition("=")
        if not separator or not name:
            raise ValueError(
                f"invalid filter {term!r}: expected NAME=VALUE, such as "
                "device=phone-0, key=phone-0 or event=enter"
            )
        filters[name] = expected
    return filters


def matches_filters(decoded: DecodedRecord, filters: Mapping[str, str]) -> bool:
    """Return whether every filter equals the record's value, compared as text."""
    for name, expected in filters.items():
        if name == "device":
            actual: Any = decoded.device_id
        elif name == "key":
            actual = decoded.record.key
        else:
            actual = _lookup(decoded.payload, name.split("."))
        if actual is None or _as_text(actual) != expected:
            return False
    return True


def _lookup(document: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(document, Mapping) or part not in document:
            return None
        document = document[part]
    return document


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
