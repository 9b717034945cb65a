"""From a request payload to a stored broker record, for every endpoint.

The publisher applies the gateway's own rules, then hands the payload to the
shared intake, which normalises it through the catalog and publishes it. A
call returns only after the broker stored the record, so a 2xx response never
stands for a message that could still be lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loomlite.components.intake import Intake
from loomlite.contract.catalog import Catalog
from loomlite.contract.envelope import Envelope
from loomlite.errors import FieldError, MessageValidationError
from loomlite.gateway.metrics import Metrics
from loomlite.gateway.tracing import RequestTrace

__all__ = ["DEVICE_ID_PATTERN", "Accepted", "Publisher", "check_device_id"]

DEVICE_ID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)
"""Production's rule for device ids sent to the REST API: UUID text, any version."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message the broker stored: its canonical topic and the message."""

    topic: str
    message: Envelope

    @property
    def message_id(self) -> str:
        return self.message.message_id


def check_device_id(value: object) -> FieldError | None:
    """Return an error when ``value`` is a string that is not UUID text.

    Other types and a missing id are left to the topic's model, which reports
    them with its own message.
    """
    if isinstance(value, str) and not DEVICE_ID_PATTERN.fullmatch(value):
        return FieldError(
            "device_id",
            "must be a UUID such as 3f2b8c9e-6d1a-4c5b-9e7f-0a1b2c3d4e5f, as "
            "production's API required",
            value,
        )
    return None


class Publisher:
    """Validates and publishes request payloads through one intake."""

    def __init__(self, intake: Intake, metrics: Metrics, catalog: Catalog) -> None:
        self.intake = intake
        self.metrics = metrics
        self.catalog = catalog

    async def validate(
        self,
        topic: str,
        payload: Mapping[str, Any],
        trace: RequestTrace,
        *,
        received_at: datetime | None = None,
        check_device: bool = True,
    ) -> Envelope:
        """Return ``payload`` as the topic's canonical message, stamped with the
        request's trace.

        Raises MessageValidationError naming every bad field; the intake has
        then recorded the payload on the ingest error topic.
        """
        stamped = {**payload, "trace_id": trace.trace_id}
        nested = stamped.get("data")
        if isinstance(nested, Mapping) and "trace_id" in nested:
            # The request's trace replaces a nested one too, which would
            # otherwise conflict with it.
            stamped["data"] = {
                key: value for key, value in nested.items() if key != "trace_id"
            }
        device_error = (
            check_device_id(stamped["device_id"])
            if (check_device and "device_id" in stamped)
            else None
        )
        try:
            message = await self.intake.validate(
                topic, stamped, received_at=received_at
            )
        except MessageValidationError as exc:
            # The intake recorded the payload already. The response also names
            # the device id rule when that failed too.
            self.metrics.rejected("invalid_payload")
            if device_error is None:
                raise
            raise MessageValidationError(
                exc.topic, [device_error, *exc.errors]
            ) from exc
        late_error = self._check_retention(topic, message, received_at)
        errors = [error for error in (device_error, late_error) if error is not None]
        if errors:
            canonical = self.catalog.resolve(topic)
            rejection = MessageValidationError(canonical, errors)
            self.metrics.rejected("invalid_payload")
            await self.intake.reject(topic, stamped, rejection)
            raise rejection
        return message

    def _check_retention(
        self, topic: str, message: Envelope, received_at: datetime | None
    ) -> FieldError | None:
        """Return an error when retention would drop the message at once.

        The broker's retention by age counts from ``recorded_at``, so a
        message older than its topic's retention would be acknowledged and
        then deleted before any consumer read it.
        """
        max_age = self.catalog.get(topic).retention.max_age
        if max_age is None:
            return None
        now = received_at if received_at is not None else message.received_at
        if message.recorded_at >= now - max_age:
            return None
        return FieldError(
            "recorded_at",
            f"is older than the {max_age.days}-day retention of topic "
            f"{self.catalog.resolve(topic)!r} (receive time {now.isoformat()}), "
            "so the broker would drop it before any consumer read it",
            message.recorded_at.isoformat(),
        )

    async def publish(self, topic: str, message: Envelope) -> Accepted:
        """Publish a validated message; returns once the broker stored it."""
        metadata = await self.intake.publish(topic, message)
        self.metrics.written(metadata.topic)
        return Accepted(metadata.topic, message)

    async def submit(
        self,
        topic: str,
        payload: Mapping[str, Any],
        trace: RequestTrace,
        *,
        received_at: datetime | None = None,
        check_device: bool = True,
    ) -> Accepted:
        """Validate ``payload`` and publish it (see ``validate``)."""
        message = await self.validate(
            topic,
            payload,
            trace,
            received_at=received_at,
            check_device=check_device,
        )
        return await self.publish(topic, message)
