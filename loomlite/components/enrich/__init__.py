"""Deterministic derivations from sensor data: steps, significant motion, geofences.

Each detector keeps the state of one device and works on event time
(``recorded_at``), so results do not depend on arrival order within the
lateness bound or on replay speed. Callers keep one detector per device and
feed it that device's messages.
"""

from loomlite.components.enrich.geo import haversine_distance
from loomlite.components.enrich.geofence import (
    GeofenceConfig,
    GeofenceEvent,
    GeofenceRegion,
    GeofenceTracker,
    Transition,
    load_regions,
)
from loomlite.components.enrich.motion import (
    MotionDetector,
    MotionDetectorConfig,
    MotionEvent,
    MotionKind,
)
from loomlite.components.enrich.reorder import ReorderBuffer
from loomlite.components.enrich.steps import (
    StepCounter,
    StepCounterConfig,
    StepWindow,
)

__all__ = [
    "GeofenceConfig",
    "GeofenceEvent",
    "GeofenceRegion",
    "GeofenceTracker",
    "MotionDetector",
    "MotionDetectorConfig",
    "MotionEvent",
    "MotionKind",
    "ReorderBuffer",
    "StepCounter",
    "StepCounterConfig",
    "StepWindow",
    "Transition",
    "haversine_distance",
    "load_regions",
]
