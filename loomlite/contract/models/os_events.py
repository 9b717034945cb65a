"""Raw operating-system events: app lifecycle, system state, notifications.

Field names and allowed values are those of the production ingestion API.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata

__all__ = ["OSEventAppLifecycle", "OSEventNotification", "OSEventSystem"]


def _strip_lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class OSEventAppLifecycle(Envelope):
    app_identifier: str = Field(min_length=1, description="Package or bundle id.")
    event_type: Literal["launch", "foreground", "background", "terminate", "crash"]
    app_name: str | None = None
    duration_seconds: int | None = Field(None, ge=0)
    metadata: Metadata = None


class OSEventSystem(Envelope):
    """A screen, lock, power or boot event."""

    event_type: Annotated[str, BeforeValidator(_strip_lower), Field(min_length=1)] = (
        Field(description="e.g. screen_on, device_unlock; stored lower-case.")
    )
    event_category: str = Field("system", description="system, power, screen, lock.")
    severity: Literal["info", "warning", "error"] = "info"
    description: str | None = None
    metadata: Metadata = None


class OSEventNotification(Envelope):
    notification_id: str = Field(min_length=1)
    app_identifier: str = Field(min_length=1)
    title: str | None = None
    body: str | None = None
    action: str | None = Field(None, description="posted, removed or clicked.")
    metadata: Metadata = None
