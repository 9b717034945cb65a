"""Raw health readings from phones and watches.

Field names are those of the production ingestion API's request bodies.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata

__all__ = [
    "BloodOxygenReading",
    "BloodPressureReading",
    "HeartRateReading",
    "SleepReading",
    "StepsReading",
]


class HeartRateReading(Envelope):
    bpm: int = Field(gt=0, description="Beats per minute.")
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    measurement_type: str | None = Field(None, description="e.g. resting, active.")
    variability: float | None = Field(None, ge=0.0, description="HRV in ms.")
    source: str | None = Field(None, description="wearable, phone, manual or other.")
    metadata: Metadata = None


class StepsReading(Envelope):
    """Steps that a device counted itself; derived counts have their own topic."""

    step_count: int = Field(ge=0)
    distance_meters: float | None = Field(None, ge=0.0)
    calories_burned: float | None = Field(None, ge=0.0, description="kcal.")
    activity_type: str | None = None
    active_minutes: int | None = Field(None, ge=0)
    metadata: Metadata = None


class SleepReading(Envelope):
    sleep_stage: Literal["awake", "light", "deep", "rem"]
    duration_seconds: int = Field(ge=0, description="Time spent in this stage.")
    quality_score: float | None = None
    metadata: Metadata = None


class BloodOxygenReading(Envelope):
    spo2_percentage: int = Field(ge=0, le=100)
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    measurement_type: str | None = None
    metadata: Metadata = None


class BloodPressureReading(Envelope):
    systolic: int = Field(gt=0, description="mmHg.")
    diastolic: int = Field(gt=0, description="mmHg.")
    pulse: int | None = Field(None, gt=0, description="Beats per minute.")
    measurement_type: str | None = None
    metadata: Metadata = None
