"""Derived motion data: step counts, significant motion, activity and
accelerometer windows.

Windows are in event time (``recorded_at`` of the readings), never wall
clock, and sample rates are measured from the readings' timestamps.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Confidence
from loomlite.contract.types import ContractModel, UtcDatetime

__all__ = [
    "AccelerometerWindow",
    "ActivityClassification",
    "DerivedSteps",
    "GeoPoint",
    "SignificantMotion",
]


class _Window(Envelope):
    """A message about a time window; ``recorded_at`` is the window start."""

    window_start: UtcDatetime
    window_end: UtcDatetime

    @model_validator(mode="after")
    def _check_window(self) -> Self:
        if self.window_end < self.window_start:
            raise ValueError(
                f"window_end {self.window_end.isoformat()} is before "
                f"window_start {self.window_start.isoformat()}"
            )
        return self


class DerivedSteps(_Window):
    """Steps counted from accelerometer readings in one window."""

    step_count: int = Field(ge=0)
    cadence: float = Field(ge=0.0, description="Steps per minute.")
    sample_count: int = Field(ge=0, description="Readings in the window.")
    sample_rate_hz: float = Field(ge=0.0, description="Measured from timestamps.")


class AccelerometerWindow(_Window):
    """Summary features of the accelerometer readings in one window."""

    sample_count: int = Field(ge=0)
    sample_rate_hz: float = Field(ge=0.0, description="Measured from timestamps.")
    mean_magnitude: float = Field(ge=0.0, description="m/s².")
    std_magnitude: float = Field(ge=0.0, description="m/s².")
    peak_frequency_hz: float | None = Field(None, ge=0.0)


MotionType = Literal[
    "walking",
    "running",
    "vehicle",
    "sudden_stop",
    "sudden_start",
    "fall",
    "shake",
    "unknown",
]


class SignificantMotion(_Window):
    """A burst of acceleration well above the level at rest."""

    motion_type: MotionType
    confidence: Confidence
    max_acceleration: float = Field(ge=0.0, description="m/s², gravity removed.")
    avg_acceleration: float = Field(ge=0.0, description="m/s², gravity removed.")
    dominant_axis: Literal["x", "y", "z"]
    sample_count: int = Field(ge=0)
    sample_rate_hz: float = Field(ge=0.0, description="Measured from timestamps.")


class GeoPoint(ContractModel):
    latitude: float = Field(ge=-90.0, le=90.0)
    longitude: float = Field(ge=-180.0, le=180.0)


ActivityType = Literal[
    "stationary", "walking", "running", "cycling", "vehicle", "unknown"
]


class ActivityClassification(_Window):
    """The user's activity in one window, inferred from motion, steps and GPS."""

    activity_type: ActivityType
    confidence: Confidence
    motion_events_count: int = Field(0, ge=0)
    step_count: int | None = Field(None, ge=0)
    distance_meters: float | None = Field(None, ge=0.0)
    avg_speed_ms: float | None = Field(None, ge=0.0, description="m/s.")
    max_speed_ms: float | None = Field(None, ge=0.0, description="m/s.")
    start_location: GeoPoint | None = None
    end_location: GeoPoint | None = None
    source_message_ids: list[str] = []
