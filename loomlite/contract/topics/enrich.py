"""Topics the enrich component derives from sensor, location and OS data."""

from __future__ import annotations

from loomlite.contract.catalog import TopicKind, TopicSpec
from loomlite.contract.models import (
    AccelerometerWindow,
    ActivityClassification,
    AppLifecycleEnriched,
    BusinessMatch,
    DerivedSteps,
    GeocodedPlace,
    GeoregionEvent,
    PowerPattern,
    PowerStateEnriched,
    SignificantMotion,
)
from loomlite.contract.topics._build import NO_STAGE_YET, WEEK, days, table

__all__ = ["ENRICH_TOPICS"]

DERIVED = TopicKind.DERIVED

_MOTION = [
    TopicSpec(
        name="device.health.steps.derived",
        kind=DERIVED,
        description=(
            "Steps that the steps stage counted from "
            "device.sensor.accelerometer.raw, one message per window. A topic "
            "of its own so that derived counts never mix with the counts "
            "devices report in device.health.steps.raw."
        ),
        models={1: DerivedSteps},
        retention=WEEK,
        table=table("device_health_steps_derived"),
    ),
    TopicSpec(
        name="motion.events.significant",
        kind=DERIVED,
        description=(
            "Bursts of acceleration that the motion stage found in "
            "device.sensor.accelerometer.raw."
        ),
        models={1: SignificantMotion},
        retention=WEEK,
        table=table("motion_events_significant"),
    ),
    TopicSpec(
        name="motion.classification.activity",
        kind=DERIVED,
        description=(
            "Activity per window (walking, vehicle, ...) that the "
            "activity_classification stage inferred from motion events, "
            "derived steps and GPS."
        ),
        models={1: ActivityClassification},
        retention=WEEK,
        table=table("motion_classification_activity"),
    ),
    TopicSpec(
        name="device.sensor.accelerometer.windowed",
        kind=DERIVED,
        description="Summary features of accelerometer readings per window.",
        models={1: AccelerometerWindow},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
]

_LOCATION = [
    TopicSpec(
        name="location.address.geocoded",
        kind=DERIVED,
        description="The place nearest each GPS fix, from the geocoding stage.",
        models={1: GeocodedPlace},
        retention=days(90),
        table=table("location_address_geocoded"),
    ),
    TopicSpec(
        name="location.georegion.detected",
        kind=DERIVED,
        description=(
            "Entries into and exits from named regions, from the georegion stage."
        ),
        models={1: GeoregionEvent},
        retention=days(90),
        table=table("location_georegion_detected", "region_name"),
    ),
    TopicSpec(
        name="location.business.identified",
        kind=DERIVED,
        description="Businesses and venues at visited places.",
        models={1: BusinessMatch},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
]

_STATE = [
    TopicSpec(
        name="device.state.power.enriched",
        kind=DERIVED,
        description="Power readings classified as normal, low or critical.",
        models={1: PowerStateEnriched},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="device.state.power.patterns",
        kind=DERIVED,
        description="Recurring charging and drain patterns.",
        models={1: PowerPattern},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
    TopicSpec(
        name="os.events.app_lifecycle.enriched",
        kind=DERIVED,
        description="App lifecycle events with the time spent in the last state.",
        models={1: AppLifecycleEnriched},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
]

ENRICH_TOPICS: list[TopicSpec] = [*_MOTION, *_LOCATION, *_STATE]
