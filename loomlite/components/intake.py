"""The intake: how device and fetcher payloads enter the broker.

The ingest component, the external fetchers and the HTTP gateway all call
``Intake.submit``. It normalises a production-shaped payload to its topic's
canonical model, publishes it keyed by ``device_id`` with the event time as the
record timestamp, and returns only after the broker stored it. An invalid
payload is recorded on the ``processing.errors.ingest`` topic with the reason
and the original bytes, then the MessageValidationError is raised to the
caller (a gateway returns 422 with it). A payload without a ``trace_id``
starts a new trace named after its ``message_id``. A payload without a
``message_id`` but with a ``content_hash`` (what fetchers send) gets an id
derived from the hash.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loomlite.broker.base import RecordMetadata
from loomlite.components.ids import LOOMLITE_NAMESPACE
from loomlite.contract import CATALOG, ProcessingError, error_topic, normalise
from loomlite.contract.catalog import Catalog, TopicKind
from loomlite.contract.envelope import Envelope
from loomlite.errors import MessageValidationError
from loomlite.runtime.context import ComponentContext

__all__ = ["INGEST_STAGE", "Intake", "IntakeStatistics", "raw_topics"]

logger = logging.getLogger(__name__)

INGEST_STAGE = "ingest"

# device_id recorded for a rejected payload that did not carry a usable one.
_UNKNOWN_DEVICE = "unknown"


def raw_topics(
    catalog: Catalog = CATALOG, *, prefix: str | None = None
) -> tuple[str, ...]:
    """Canonical names of the raw topics, optionally only those under ``prefix``."""
    return tuple(
        spec.name
        for spec in catalog.by_kind(TopicKind.RAW)
        if prefix is None or spec.name.startswith(prefix)
    )


def _with_content_id(topic: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """Give a payload without ``message_id`` one derived from its content hash.

    Fetchers send no message id but hash each item, so a re-fetched item keeps
    its id and its derived rows stay identical.
    """
    if payload.get("message_id"):
        return payload
    content_hash = payload.get("content_hash")
    data = payload.get("data")
    if not content_hash and isinstance(data, Mapping):
        content_hash = data.get("content_hash")
    if not isinstance(content_hash, str) or not content_hash:
        return payload
    message_id = str(uuid.uuid5(LOOMLITE_NAMESPACE, f"{topic}/{content_hash}"))
    return {**payload, "message_id": message_id}


@dataclass(slots=True)
class IntakeStatistics:
    accepted: int = 0
    rejected: int = 0


class Intake:
    """Normalise, validate and publish payloads for one component."""

    def __init__(self, context: ComponentContext) -> None:
        self._context = context
        self._error_topic = error_topic(INGEST_STAGE, context.catalog)
        self.statistics = IntakeStatistics()

    async def submit(
        self,
        topic: str,
        payload: Mapping[str, Any],
        *,
        received_at: datetime | None = None,
    ) -> RecordMetadata:
        """Normalise ``payload`` for ``topic`` and publish it.

        Raises MessageValidationError (after recording the payload on the
        ingest error topic) when the payload does not match the topic.
        """
        message = await self.validate(topic, payload, received_at=received_at)
        return await self.publish(topic, message)

    async def validate(
        self,
        topic: str,
        payload: Mapping[str, Any],
        *,
        received_at: datetime | None = None,
    ) -> Envelope:
        """Normalise ``payload`` for ``topic`` without publishing it.

        Raises MessageValidationError, after recording the payload on the
        ingest error topic, when the payload does not match the topic.
        """
        context = self._context
        moment = received_at if received_at is not None else context.clock.now()
        payload = _with_content_id(topic, payload)
        try:
            message = normalise(
                topic, payload, received_at=moment, catalog=context.catalog
            )
        except MessageValidationError as exc:
            await self.reject(topic, payload, exc, received_at=moment)
            raise
        if not payload.get("trace_id"):
            # A payload without a trace starts one; naming it after the
            # message keeps replays and seeded runs identical.
            message = message.model_copy(update={"trace_id": message.message_id})
        return message

    async def reject(
        self,
        topic: str,
        payload: Mapping[str, Any],
        error: MessageValidationError,
        *,
        received_at: datetime | None = None,
    ) -> None:
        """Count an invalid payload and record it on the ingest error topic.

        Callers that check a payload themselves before ``submit`` (the
        gateway's device id rule) use it so that every rejection is recorded.
        """
        moment = received_at if received_at is not None else self._context.clock.now()
        self.statistics.rejected += 1
        await self._record_rejection(topic, payload, error, moment)

    async def publish(self, topic: str, message: Envelope) -> RecordMetadata:
        """Publish a message that is already canonical."""
        metadata = await self._context.publish(topic, message)
        self.statistics.accepted += 1
        return metadata

    async def _record_rejection(
        self,
        topic: str,
        payload: Mapping[str, Any],
        error: MessageValidationError,
        received_at: datetime,
    ) -> None:
        device_id = payload.get("device_id")
        if not isinstance(device_id, str) or not device_id:
            device_id = _UNKNOWN_DEVICE
        rejection = ProcessingError(
            device_id=device_id,
            recorded_at=received_at,
            received_at=received_at,
            stage=INGEST_STAGE,
            source_topic=topic,
            source_value=json.dumps(payload, default=str).encode(),
            error_type=type(error).__name__,
            error_message=str(error),
        )
        context = self._context
        context.message_logger(topic, None).warning(
            "rejected a payload for %s: %s", topic, error
        )
        await context.publish(self._error_topic, rejection)
