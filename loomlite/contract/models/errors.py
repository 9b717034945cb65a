"""The model of every error topic: a message a processing stage failed on."""

from __future__ import annotations

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.types import Binary, ContractModel

__all__ = ["ProcessingError", "RecordHeader"]


class RecordHeader(ContractModel):
    """One header of the failed broker record."""

    name: str
    value: Binary


class ProcessingError(Envelope):
    """A record that a stage could not process, with the reason.

    The envelope is copied from the failed message when it could be decoded.
    Otherwise ``device_id`` is the record's key and ``recorded_at`` the
    record's timestamp. ``source_value`` contains the record bytes unchanged, so
    the message can be inspected and replayed. Records that never reached the
    broker (e.g. an invalid request at the gateway) have no partition and
    offset.
    """

    stage: str = Field(min_length=1, description="Stage that failed, e.g. vad.")
    source_topic: str = Field(min_length=1)
    source_partition: int | None = Field(None, ge=0)
    source_offset: int | None = Field(None, ge=0)
    source_key: str | None = None
    source_value: Binary = Field(description="The failed record's value.")
    source_headers: list[RecordHeader] = []
    error_type: str = Field(description="Exception class name.")
    error_message: str
    traceback: str | None = None
