"""Request bodies in the shapes production clients sent, and their time formats.

Production clients disagreed on the envelope:

- the mobile app's typed models sent flat bodies with ``recorded_at`` (a naive
  local ISO time, which the API read as UTC), ``timestamp: null``,
  ``message_id``, ``trace_id: null`` and ``services_encountered``;
- its event sources (screen, app lifecycle, running apps) sent ``timestamp``
  as the event time and no ``recorded_at``;
- the test producer sent nested bodies: fields under ``data{}``, extras under
  ``metadata{}``, and a ``timestamp`` that is the event time;
- the unified endpoint wrapped ``data{}`` with ``message_type`` and
  ``pipeline_hint``.

The simulators read the phone's local time as UTC, so every naive time here
is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from simulators.ids import IdGenerator, derive_rng

__all__ = [
    "PayloadFactory",
    "aware_iso",
    "epoch_milliseconds",
    "epoch_seconds",
    "javascript_iso",
    "naive_iso",
    "payload_message_id",
    "python_str",
]


def naive_iso(moment: datetime) -> str:
    """Format as ISO 8601 without an offset, e.g. 2024-06-01T07:30:00.000000.

    Dart's ``toIso8601String`` on a local time and Python's
    ``utcnow().isoformat()`` both look like this.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat("T", "microseconds")


def aware_iso(moment: datetime) -> str:
    """Format as ISO 8601 with a +00:00 offset."""
    return moment.astimezone(UTC).isoformat()


def python_str(moment: datetime) -> str:
    """Format as ``str(datetime)`` does, e.g. 2024-06-01 07:30:00+00:00.

    The fetchers serialised datetimes inside ``data{}`` with
    ``json.dumps(default=str)``, which gives this form.
    """
    return str(moment.astimezone(UTC))


def javascript_iso(moment: datetime) -> str:
    """Format as JavaScript's ``toISOString``, e.g. 2024-06-01T07:30:00.000Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_milliseconds(moment: datetime) -> int:
    """Return Unix time in whole milliseconds."""
    return int(moment.timestamp() * 1000)


def epoch_seconds(moment: datetime) -> float:
    """Return Unix time in seconds, rounded to milliseconds."""
    return round(moment.timestamp(), 3)


def payload_message_id(payload: dict[str, Any]) -> str:
    """Return the message_id of a flat or nested payload.

    Raises KeyError when the payload carries none.
    """
    if "message_id" in payload:
        return str(payload["message_id"])
    nested = payload.get("data")
    if isinstance(nested, dict) and "message_id" in nested:
        return str(nested["message_id"])
    raise KeyError("the payload has no message_id at the top level or in 'data'")


class PayloadFactory:
    """Builds one device source's request bodies with seeded ids.

    ``legacy_share`` is the probability that ``use_legacy_shape`` returns True,
    so that a few payloads use an older shape and exercise the normaliser.
    """

    def __init__(
        self,
        device_id: str,
        seed: int,
        *labels: str,
        client: str | None = "mobile-client",
        legacy_share: float = 0.0,
    ) -> None:
        if not 0.0 <= legacy_share <= 1.0:
            raise ValueError(f"legacy_share must be in [0, 1], got {legacy_share!r}")
        self.device_id = device_id
        self.client = client
        self.legacy_share = legacy_share
        self.ids = IdGenerator(derive_rng(seed, device_id, *labels, "ids"))
        self._shape_random: np.random.Generator = derive_rng(
            seed, device_id, *labels, "shape"
        )
        self._draws: list[float] = []

    def use_legacy_shape(self) -> bool:
        """Draw whether the next payload uses an older shape."""
        if self.legacy_share == 0.0:
            return False
        if not self._draws:
            # Drawn in blocks: one generator call per payload is slow.
            self._draws = self._shape_random.random(1024).tolist()
            self._draws.reverse()
        return self._draws.pop() < self.legacy_share

    def flat(self, recorded_at: datetime, fields: dict[str, Any]) -> dict[str, Any]:
        """Return a typed-model REST body: the envelope, then ``fields``."""
        body: dict[str, Any] = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "recorded_at": naive_iso(recorded_at),
            "timestamp": None,
            "message_id": self.ids.uuid4(),
            "trace_id": None,
        }
        if self.client is not None:
            body["services_encountered"] = [self.client]
        body.update(fields)
        return body

    def plain(self, recorded_at: datetime, fields: dict[str, Any]) -> dict[str, Any]:
        """Return a macOS-client body: version, device, time, id, then ``fields``."""
        body: dict[str, Any] = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "recorded_at": naive_iso(recorded_at),
            "message_id": self.ids.uuid4(),
        }
        body.update(fields)
        return body

    def event(self, occurred_at: datetime, fields: dict[str, Any]) -> dict[str, Any]:
        """Return an event-source REST body, whose event time is ``timestamp``."""
        body: dict[str, Any] = {
            "device_id": self.device_id,
            "timestamp": naive_iso(occurred_at),
            "message_id": self.ids.uuid4(),
        }
        body.update(fields)
        return body

    def nested(
        self,
        recorded_at: datetime,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return a test-producer body: ``data{}`` and ``metadata{}``."""
        body: dict[str, Any] = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "timestamp": aware_iso(recorded_at),
            "message_id": self.ids.uuid4(),
            "trace_id": self.ids.uuid4(),
            "data": data,
        }
        if metadata:
            body["metadata"] = metadata
        return body

    def unified(
        self,
        message_type: str,
        recorded_at: datetime,
        data: dict[str, Any],
        *,
        pipeline_hint: str | None = None,
    ) -> dict[str, Any]:
        """Return a unified-endpoint body.

        Production's unified messages carried no event time; these put the
        client's ``recorded_at`` and ``message_id`` inside ``data{}`` so that
        the message stays valid.
        """
        body: dict[str, Any] = {
            "schema_version": "1.0",
            "device_id": self.device_id,
            "message_type": message_type,
            "data": {
                **data,
                "recorded_at": naive_iso(recorded_at),
                "message_id": self.ids.uuid4(),
            },
            "metadata": {},
            "timestamp": None,
        }
        if pipeline_hint is not None:
            body["pipeline_hint"] = pipeline_hint
        return body
