"""Deterministic ids for derived messages.

A derived message's ``message_id`` is a UUID5 of its source, the stage that
derived it and its position among that stage's outputs for the same source.
Replaying the same input through the same stages therefore produces the same
ids, so a rerun overwrites rows instead of adding near-duplicates.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from loomlite.contract.types import as_utc

__all__ = ["LOOMLITE_NAMESPACE", "derived_id", "window_id"]

# Fixed for the life of the project: changing it changes every derived id.
LOOMLITE_NAMESPACE: Final = uuid.UUID("5d0f4a52-8c1e-4b0a-9a55-2f3c6e7d9b14")


def derived_id(source_message_id: str, stage: str, index: int = 0) -> str:
    """Return the id of output ``index`` that ``stage`` derived from one message.

    The id is ``uuid5(LOOMLITE_NAMESPACE, "<source_message_id>/<stage>/<index>")``
    in canonical text form. Raises ValueError for an empty source id or stage,
    or a negative index.
    """
    if not source_message_id:
        raise ValueError("source_message_id must not be empty")
    if not stage:
        raise ValueError("stage must not be empty")
    if index < 0:
        raise ValueError(f"index must be 0 or more, got {index!r}")
    name = f"{source_message_id}/{stage}/{index}"
    return str(uuid.uuid5(LOOMLITE_NAMESPACE, name))


def window_id(device_id: str, stage: str, start: datetime) -> str:
    """Return the id of the output that ``stage`` derived from one event-time window.

    Windowed stages (steps, motion, activity) read many messages per output,
    so the source is the device and the window start instead of one message:
    ``derived_id("<device_id>@<start in ISO 8601 UTC>", stage, 0)``. A naive
    ``start`` is read as UTC.
    """
    if not device_id:
        raise ValueError("device_id must not be empty")
    return derived_id(f"{device_id}@{as_utc(start).isoformat()}", stage)
