"""Enriched power and app lifecycle data, which no loomlite stage produces yet."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Confidence, SourceMessageId
from loomlite.contract.types import UtcDatetime

__all__ = ["AppLifecycleEnriched", "PowerPattern", "PowerStateEnriched"]


class PowerStateEnriched(Envelope):
    """A power reading classified against battery thresholds."""

    source_message_id: SourceMessageId
    battery_level: float = Field(ge=0.0, le=100.0, description="Percent.")
    is_charging: bool
    level_state: Literal["normal", "low", "critical"]


class PowerPattern(Envelope):
    """A recurring charging or drain pattern; ``recorded_at`` is its start."""

    pattern_type: str = Field(description="e.g. overnight_charge, fast_drain.")
    window_start: UtcDatetime
    window_end: UtcDatetime
    confidence: Confidence
    description: str | None = None


class AppLifecycleEnriched(Envelope):
    """An app lifecycle event with the time the app spent in its last state."""

    source_message_id: SourceMessageId
    app_identifier: str
    event_type: str
    app_category: str | None = None
    previous_state_seconds: float | None = Field(None, ge=0.0)
