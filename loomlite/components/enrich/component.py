"""The enrich component: geocoding, georegions, steps, motion and activity.

Every stage works on event time (``recorded_at``) with per-device state, so
its outputs do not depend on the clock, the replay speed or the arrival order
within each detector's lateness bound. Accelerometer and GPS stages take
whole fetches (``batch=True``) because readings arrive at up to 50 Hz.
``drain`` publishes the windows and events that are still open when the
runtime stops.

NOTE: the detectors' state lives in memory. A crash or restart loses it, so
windows open at that moment are emitted only from the readings that arrive
after the restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread
from pydantic import BaseModel, ValidationError

from loomlite.components.ai.backends import load_backend
from loomlite.components.enrich.activity import (
    Activity,
    ActivityConfig,
    ActivityTracker,
)
from loomlite.components.enrich.axes import AxisHistory
from loomlite.components.enrich.geocode import ReverseGeocoder
from loomlite.components.enrich.geofence import GeofenceConfig, load_regions
from loomlite.components.enrich.messages import (
    ACTIVITY_STAGE,
    GEOCODING_STAGE,
    MOTION_STAGE,
    STEPS_STAGE,
    activity_message,
    motion_message,
    place_message,
    steps_message,
)
from loomlite.components.enrich.motion import (
    MotionDetector,
    MotionDetectorConfig,
    MotionEvent,
)
from loomlite.components.enrich.regions import GEOREGION_STAGE, RegionTracker
from loomlite.components.enrich.steps import StepCounter, StepCounterConfig
from loomlite.components.inference import InferenceGuard, create_guard
from loomlite.contract.envelope import Envelope
from loomlite.contract.models import (
    AccelerometerReading,
    DerivedSteps,
    GPSReading,
    SignificantMotion,
)
from loomlite.errors import ConfigurationError, LifecycleError
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.settings import EnrichSettings
from loomlite.runtime.subscription import subscribe

__all__ = ["INPUT_TOPICS", "EnrichComponent", "load_geocoder"]

logger = logging.getLogger(__name__)

GPS: Final = "device.sensor.gps.raw"
ACCELEROMETER: Final = "device.sensor.accelerometer.raw"
PLACES: Final = "location.address.geocoded"
REGION_EVENTS: Final = "location.georegion.detected"
DERIVED_STEPS: Final = "device.health.steps.derived"
MOTION_EVENTS: Final = "motion.events.significant"
ACTIVITIES: Final = "motion.classification.activity"

INPUT_TOPICS: Final = (GPS, ACCELEROMETER)
"""Topics the component reads that devices produce."""

_Config = TypeVar("_Config", bound=BaseModel)
_Message = TypeVar("_Message", bound=Envelope)


class EnrichComponent(Component):
    """Deterministic derivations from GPS fixes and accelerometer readings.

    ``geocoder``, loaded ahead from the same settings, serves the first
    setup; a restart loads a fresh one.
    """

    name = "enrich"
    publishes = (PLACES, REGION_EVENTS, DERIVED_STEPS, MOTION_EVENTS, ACTIVITIES)

    def __init__(self, geocoder: ReverseGeocoder | None = None) -> None:
        self._preloaded = geocoder
        self._geocoder: ReverseGeocoder | None = None
        self._geocoder_guard: InferenceGuard | None = None
        self._steps_config = StepCounterConfig()
        self._motion_config = MotionDetectorConfig()
        self._activity_config = ActivityConfig()
        self._regions = RegionTracker(())
        self._step_counters: dict[str, StepCounter] = {}
        self._motion_detectors: dict[str, MotionDetector] = {}
        self._axis_histories: dict[str, AxisHistory] = {}
        self._activity_trackers: dict[str, ActivityTracker] = {}

    # -- lifecycle ----------------------------------------------------------

    async def setup(self) -> None:
        """Load the geocoder and the detector settings, and start with empty state.

        Raises ConfigurationError naming the key of an invalid setting, an
        unknown geocoder or an invalid geocoder option.
        """
        settings = self.context.settings.components.enrich
        geocoder, self._preloaded = self._preloaded, None
        if geocoder is None:
            geocoder = await anyio.to_thread.run_sync(load_geocoder, settings)
        self._geocoder = geocoder
        self._geocoder_guard = create_guard(
            GEOCODING_STAGE,
            self._geocoder.name,
            settings.inference,
            self.context.counters,
            input_errors=(ValueError,),
        )
        self._steps_config = _parse(StepCounterConfig, settings.steps, "steps")
        self._motion_config = _parse(MotionDetectorConfig, settings.motion, "motion")
        self._activity_config = _parse(ActivityConfig, settings.activity, "activity")
        geofence = _parse(GeofenceConfig, settings.geofence, "geofence")
        regions = load_regions(
            [region.model_dump() for region in settings.regions],
            source="components.enrich",
        )
        self._regions = RegionTracker(regions, geofence)
        self._step_counters.clear()
        self._motion_detectors.clear()
        self._axis_histories.clear()
        self._activity_trackers.clear()
        self.context.logger.info(
            "enrich: geocoder %s, %d geofence region(s)",
            self._geocoder.name,
            len(regions),
        )

    async def teardown(self) -> None:
        self._geocoder = None

    async def drain(self) -> None:
        """Publish every open step window, motion event and activity window.

        The drained steps and motion events also go straight to the activity
        trackers, because the activity stage has stopped reading its topics.
        """
        context = self.context
        now = context.clock.now()

        drained_steps = []
        for counter in self._step_counters.values():
            for window in counter.flush():
                drained_steps.append(steps_message(window, now))
        drained_motion = []
        for device_id in list(self._motion_detectors):
            drained_motion += self._flush_motion(device_id)

        for steps in drained_steps:
            await context.publish(DERIVED_STEPS, steps)
        for motion in drained_motion:
            await context.publish(MOTION_EVENTS, motion)
        for event in self._regions.flush(now):
            await context.publish(REGION_EVENTS, event)

        activities: list[Activity] = []
        for steps in drained_steps:
            activities += self._activity(steps.device_id).add_steps(steps)
        for motion in drained_motion:
            activities += self._activity(motion.device_id).add_motion(motion)
        for tracker in self._activity_trackers.values():
            activities += tracker.flush()
        for activity in activities:
            await context.publish(ACTIVITIES, activity_message(activity, now))
        context.logger.info(
            "drained %d step window(s), %d motion event(s), %d activity window(s)",
            len(drained_steps),
            len(drained_motion),
            len(activities),
        )

    # -- location -----------------------------------------------------------

    @subscribe(GPS, stage=GEOCODING_STAGE, batch=True)
    async def on_fixes_for_geocoding(
        self, messages: Sequence[GPSReading], context: Context
    ) -> None:
        """Publish the place of each fix. Fixes without a known place are skipped."""
        geocoder = self._require_geocoder()
        coordinates = [(fix.latitude, fix.longitude) for fix in messages]
        guard = self._geocoder_guard
        assert guard is not None, "setup creates the guard with the geocoder"
        places = await guard.call(geocoder.lookup_many, coordinates)
        now = context.clock.now()
        for fix, place in zip(messages, places, strict=True):
            if place is None:
                context.logger.debug(
                    "no place for fix %s at (%.5f, %.5f)",
                    fix.message_id,
                    fix.latitude,
                    fix.longitude,
                )
                continue
            await context.publish(PLACES, place_message(fix, place, now))

    @subscribe(GPS, stage=GEOREGION_STAGE, batch=True)
    async def on_fixes_for_georegion(
        self, messages: Sequence[GPSReading], context: Context
    ) -> None:
        """Publish the geofence entries and exits that the fixes confirm."""
        now = context.clock.now()
        for fix in messages:
            for event in self._regions.add(fix, now):
                await context.publish(REGION_EVENTS, event)

    # -- accelerometer ------------------------------------------------------

    @subscribe(ACCELEROMETER, stage=STEPS_STAGE, batch=True)
    async def on_samples_for_steps(
        self, messages: Sequence[AccelerometerReading], context: Context
    ) -> None:
        """Count steps per device and publish each completed window."""
        now = context.clock.now()
        for sample in messages:
            for window in self._step_counter(sample.device_id).add(sample):
                await context.publish(DERIVED_STEPS, steps_message(window, now))

    @subscribe(ACCELEROMETER, stage=MOTION_STAGE, batch=True)
    async def on_samples_for_motion(
        self, messages: Sequence[AccelerometerReading], context: Context
    ) -> None:
        """Detect significant motion per device and publish each completed event."""
        completed: list[SignificantMotion] = []
        for sample in messages:
            # The axis history receives each sample first, so it has summed
            # every sample of an event by the time the detector emits it.
            self._axis_history(sample.device_id).add(sample)
            events = self._motion_detector(sample.device_id).add(sample)
            completed += self._describe(sample.device_id, events)
        for message in completed:
            await context.publish(MOTION_EVENTS, message)

    def _flush_motion(self, device_id: str) -> list[SignificantMotion]:
        self._axis_history(device_id).flush()
        events = self._motion_detector(device_id).flush()
        return self._describe(device_id, events)

    def _describe(
        self, device_id: str, events: list[MotionEvent]
    ) -> list[SignificantMotion]:
        """Build the messages of a device's motion events from its axis history."""
        history = self._axis_history(device_id)
        now = self.context.clock.now()
        messages = []
        for event in events:
            summary = history.summarize(event.start, event.end)
            messages.append(motion_message(event, summary, self._motion_config, now))
            history.forget_before(event.end)
        return messages

    # -- activity -----------------------------------------------------------

    @subscribe(DERIVED_STEPS, stage=ACTIVITY_STAGE, batch=True)
    async def on_steps_for_activity(
        self, messages: Sequence[DerivedSteps], context: Context
    ) -> None:
        """Add derived steps to the activity windows and classify the closed ones."""
        await self._classify(messages, ActivityTracker.add_steps, context)

    @subscribe(MOTION_EVENTS, stage=ACTIVITY_STAGE, batch=True)
    async def on_motion_for_activity(
        self, messages: Sequence[SignificantMotion], context: Context
    ) -> None:
        """Count motion events in the activity windows they overlap."""
        await self._classify(messages, ActivityTracker.add_motion, context)

    @subscribe(GPS, stage=ACTIVITY_STAGE, batch=True)
    async def on_fixes_for_activity(
        self, messages: Sequence[GPSReading], context: Context
    ) -> None:
        """Add GPS fixes to the activity windows."""
        await self._classify(messages, ActivityTracker.add_fix, context)

    async def _classify(
        self,
        messages: Sequence[_Message],
        add: Callable[[ActivityTracker, _Message], list[Activity]],
        context: Context,
    ) -> None:
        now = context.clock.now()
        for message in messages:
            for activity in add(self._activity(message.device_id), message):
                await context.publish(ACTIVITIES, activity_message(activity, now))

    # -- per-device state ---------------------------------------------------

    def _step_counter(self, device_id: str) -> StepCounter:
        counter = self._step_counters.get(device_id)
        if counter is None:
            counter = StepCounter(device_id, self._steps_config)
            self._step_counters[device_id] = counter
        return counter

    def _motion_detector(self, device_id: str) -> MotionDetector:
        detector = self._motion_detectors.get(device_id)
        if detector is None:
            detector = MotionDetector(device_id, self._motion_config)
            self._motion_detectors[device_id] = detector
        return detector

    def _axis_history(self, device_id: str) -> AxisHistory:
        history = self._axis_histories.get(device_id)
        if history is None:
            config = self._motion_config
            history = AxisHistory(config.window, config.lateness)
            self._axis_histories[device_id] = history
        return history

    def _activity(self, device_id: str) -> ActivityTracker:
        tracker = self._activity_trackers.get(device_id)
        if tracker is None:
            tracker = ActivityTracker(device_id, self._activity_config)
            self._activity_trackers[device_id] = tracker
        return tracker

    def _require_geocoder(self) -> ReverseGeocoder:
        if self._geocoder is None:
            raise LifecycleError("enrich component", "not set up", "geocode fixes")
        return self._geocoder


def load_geocoder(settings: EnrichSettings) -> ReverseGeocoder:
    """Load the geocoder that ``settings`` names, with its options."""
    return load_backend("geocode", settings.geocode_backend, **settings.geocode_options)


def _parse(model: type[_Config], values: dict[str, Any], key: str) -> _Config:
    """Validate one detector section, raising ConfigurationError naming the key."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        name = (
            f"components.enrich.{key}.{field}" if field else f"components.enrich.{key}"
        )
        raise ConfigurationError(
            f"invalid setting {name}: {first['msg']} (got {first.get('input')!r})",
            key=name,
        ) from error
