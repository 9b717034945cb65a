"""Contract messages built from the results of the enrich detectors.

Windowed results (steps, motion, activity) read many messages, so their ids
come from the device, the stage and the window start, and each starts a new
trace whose id is the message id. A geocoded place continues its GPS fix's
trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from loomlite.components.enrich.activity import Activity
from loomlite.components.enrich.axes import AxisSummary
from loomlite.components.enrich.geocode import Place
from loomlite.components.enrich.motion import MotionDetectorConfig, MotionEvent
from loomlite.components.enrich.steps import StepWindow
from loomlite.components.ids import derived_id, window_id
from loomlite.contract.models import (
    ActivityClassification,
    DerivedSteps,
    GeocodedPlace,
    GPSReading,
    SignificantMotion,
)

__all__ = [
    "ACTIVITY_STAGE",
    "GEOCODING_STAGE",
    "MOTION_STAGE",
    "STEPS_STAGE",
    "activity_message",
    "motion_confidence",
    "motion_message",
    "place_message",
    "steps_message",
]

GEOCODING_STAGE: Final = "geocoding"
STEPS_STAGE: Final = "steps"
MOTION_STAGE: Final = "motion"
ACTIVITY_STAGE: Final = "activity_classification"


def steps_message(window: StepWindow, received_at: datetime) -> DerivedSteps:
    """Build the DerivedSteps message of one step window."""
    identifier = window_id(window.device_id, STEPS_STAGE, window.start)
    return DerivedSteps(
        message_id=identifier,
        trace_id=identifier,
        device_id=window.device_id,
        recorded_at=window.start,
        received_at=received_at,
        window_start=window.start,
        window_end=window.end,
        step_count=window.step_count,
        cadence=window.cadence,
        sample_count=window.sample_count,
        sample_rate_hz=window.sample_rate_hz,
    )


def motion_confidence(event: MotionEvent, config: MotionDetectorConfig) -> float:
    """Return 0.5 at the detector's threshold, rising to 1.0 at twice the threshold.

    A heuristic on the event's magnitude, not a calibrated probability.
    """
    return round(min(1.0, max(0.0, 0.5 * event.magnitude / config.threshold)), 4)


def motion_message(
    event: MotionEvent,
    axes: AxisSummary,
    config: MotionDetectorConfig,
    received_at: datetime,
) -> SignificantMotion:
    """Build the SignificantMotion message of one motion event.

    ``avg_acceleration`` is the event's magnitude (the RMS of its windows'
    standard deviations of ‖a‖) and ``max_acceleration`` its peak deviation,
    both in m/s² with gravity removed by taking deviations from the mean.
    """
    identifier = window_id(event.device_id, MOTION_STAGE, event.start)
    return SignificantMotion(
        message_id=identifier,
        trace_id=identifier,
        device_id=event.device_id,
        recorded_at=event.start,
        received_at=received_at,
        window_start=event.start,
        window_end=event.end,
        motion_type=event.kind.value,
        confidence=motion_confidence(event, config),
        max_acceleration=event.peak,
        avg_acceleration=event.magnitude,
        dominant_axis=axes.dominant_axis,
        sample_count=event.sample_count,
        sample_rate_hz=axes.sample_rate_hz,
    )


def place_message(
    fix: GPSReading, place: Place, received_at: datetime
) -> GeocodedPlace:
    """Build the GeocodedPlace message of one fix, continuing its trace."""
    return GeocodedPlace.derive(
        fix,
        received_at=received_at,
        message_id=derived_id(fix.message_id, GEOCODING_STAGE),
        source_message_id=fix.message_id,
        latitude=fix.latitude,
        longitude=fix.longitude,
        place_name=place.name,
        locality=place.locality or None,
        region=place.region or None,
        country_code=place.country_code or None,
        distance_meters=place.distance_m,
        backend=place.source,
    )


def activity_message(
    activity: Activity, received_at: datetime
) -> ActivityClassification:
    """Build the ActivityClassification message of one window."""
    identifier = window_id(activity.device_id, ACTIVITY_STAGE, activity.start)
    return ActivityClassification(
        message_id=identifier,
        trace_id=identifier,
        device_id=activity.device_id,
        recorded_at=activity.start,
        received_at=received_at,
        window_start=activity.start,
        window_end=activity.end,
        activity_type=activity.activity_type,
        confidence=activity.confidence,
        motion_events_count=activity.motion_events_count,
        step_count=activity.step_count,
        distance_meters=activity.distance_meters,
        avg_speed_ms=activity.avg_speed_ms,
        max_speed_ms=activity.max_speed_ms,
        start_location=activity.start_location,
        end_location=activity.end_location,
        source_message_ids=list(activity.source_message_ids),
    )
