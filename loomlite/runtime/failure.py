"""Build the ProcessingError message that a failed record sends to its error topic."""

from __future__ import annotations

import traceback
from datetime import datetime

from loomlite.broker.base import Record
from loomlite.contract import ProcessingError, RecordHeader
from loomlite.contract.envelope import Envelope

__all__ = ["UNKNOWN_DEVICE", "build_processing_error"]

# device_id of an error message whose record had neither a decodable message
# nor a key; the envelope requires a non-empty device_id.
UNKNOWN_DEVICE = "unknown"


def build_processing_error(
    *,
    stage: str,
    record: Record,
    error: BaseException,
    message: Envelope | None,
    received_at: datetime,
) -> ProcessingError:
    """Describe ``record`` and the ``error`` that ``stage`` raised on it.

    When the record decoded, the error continues the message's trace and
    keeps its device_id and recorded_at. Otherwise device_id is the record
    key and recorded_at the record timestamp. The record bytes, key and
    headers are kept unchanged so the record can be inspected and replayed.
    """
    fields = {
        "stage": stage,
        "source_topic": record.topic,
        "source_partition": record.partition,
        "source_offset": record.offset,
        "source_key": record.key,
        "source_value": record.value,
        "source_headers": [
            RecordHeader(name=name, value=value) for name, value in record.headers
        ],
        "error_type": type(error).__name__,
        "error_message": str(error),
        "traceback": "".join(traceback.format_exception(error)),
    }
    if message is not None:
        return ProcessingError.derive(message, received_at=received_at, **fields)
    return ProcessingError(
        device_id=record.key or UNKNOWN_DEVICE,
        recorded_at=record.timestamp,
        received_at=received_at,
        **fields,
    )
