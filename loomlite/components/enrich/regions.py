"""Geofence events of every device, as GeoregionEvent messages.

GeofenceTracker reports an event with the time and position of the fix that
started the confirmed run, but not that fix's message. RegionTracker keeps
the message id and trace id of each recent fix by time and position, so the
event can name its source fix and continue its trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from loomlite.components.enrich.geofence import (
    GeofenceConfig,
    GeofenceEvent,
    GeofenceRegion,
    GeofenceTracker,
)
from loomlite.components.enrich.reorder import epoch_seconds
from loomlite.components.ids import derived_id
from loomlite.contract.models import GeoregionEvent, GPSReading

__all__ = ["GEOREGION_STAGE", "RegionTracker"]

logger = logging.getLogger(__name__)

GEOREGION_STAGE = "georegion"

# Fixes older than the dwell plus this are forgotten.
# NOTE: a transition pending longer than this, which needs a GPS gap of hours
# in the middle of a dwell, takes the confirming fix as its source.
_FIX_RETENTION = timedelta(hours=6)
# The fix index is pruned once per this many fixes.
_PRUNE_EVERY = 256


@dataclass(slots=True)
class _FixSource:
    latitude: float
    longitude: float
    message_id: str
    trace_id: str
    events: int = 0
    """Events attributed to this fix so far, which numbers their ids."""


class _DeviceRegions:
    """The geofence tracker of one device and the sources of its recent fixes."""

    def __init__(
        self,
        device_id: str,
        regions: Sequence[GeofenceRegion],
        config: GeofenceConfig,
    ) -> None:
        self.tracker = GeofenceTracker(device_id, regions, config)
        self._retention = (config.min_dwell + _FIX_RETENTION).total_seconds()
        self._sources: dict[float, list[_FixSource]] = {}
        self._newest = float("-inf")
        self._added = 0

    def remember(self, fix: GPSReading) -> None:
        seconds = epoch_seconds(fix.recorded_at)
        sources = self._sources.setdefault(seconds, [])
        for source in sources:
            if (source.latitude, source.longitude) == (fix.latitude, fix.longitude):
                # The tracker drops the second of two equal fixes. The smaller
                # id wins, so the source does not depend on arrival order.
                if fix.message_id < source.message_id:
                    source.message_id = fix.message_id
                    source.trace_id = fix.trace_id
                return
        sources.append(
            _FixSource(fix.latitude, fix.longitude, fix.message_id, fix.trace_id)
        )
        self._newest = max(self._newest, seconds)
        self._added += 1
        if self._added % _PRUNE_EVERY == 0:
            self._prune()

    def source_of(self, event: GeofenceEvent) -> _FixSource | None:
        """Return the fix that started the event's run, else the confirming fix."""
        started = self._sources.get(epoch_seconds(event.recorded_at), [])
        for source in started:
            if (source.latitude, source.longitude) == (event.latitude, event.longitude):
                return source
        confirmed = self._sources.get(epoch_seconds(event.confirmed_at), [])
        return min(confirmed, key=lambda source: source.message_id, default=None)

    def _prune(self) -> None:
        oldest = self._newest - self._retention
        for seconds in [seconds for seconds in self._sources if seconds < oldest]:
            del self._sources[seconds]


class RegionTracker:
    """Track every device against the configured regions."""

    def __init__(
        self, regions: Sequence[GeofenceRegion], config: GeofenceConfig | None = None
    ) -> None:
        self.regions = tuple(regions)
        self.config = config or GeofenceConfig()
        self._devices: dict[str, _DeviceRegions] = {}

    def add(self, fix: GPSReading, received_at: datetime) -> list[GeoregionEvent]:
        """Accept one fix and return the events it confirmed."""
        if not self.regions:
            return []
        device = self._device(fix.device_id)
        device.remember(fix)
        events = device.tracker.add(fix)
        return self._messages(device, events, received_at)

    def flush(self, received_at: datetime) -> list[GeoregionEvent]:
        """Process every held fix of every device, as at the end of a stream.

        Transitions whose dwell is not complete stay unconfirmed.
        """
        messages = []
        for device in self._devices.values():
            events = device.tracker.flush()
            messages += self._messages(device, events, received_at)
        return messages

    def _device(self, device_id: str) -> _DeviceRegions:
        device = self._devices.get(device_id)
        if device is None:
            device = _DeviceRegions(device_id, self.regions, self.config)
            self._devices[device_id] = device
        return device

    def _messages(
        self,
        device: _DeviceRegions,
        events: list[GeofenceEvent],
        received_at: datetime,
    ) -> list[GeoregionEvent]:
        messages = []
        for event in events:
            source = device.source_of(event)
            if source is None:
                logger.error(
                    "no GPS fix of device %s at %s for the %s event of region %r; "
                    "the event is dropped",
                    event.device_id,
                    event.confirmed_at.isoformat(),
                    event.transition.value,
                    event.region,
                )
                continue
            messages.append(_message(event, source, received_at))
        return messages


def _message(
    event: GeofenceEvent, source: _FixSource, received_at: datetime
) -> GeoregionEvent:
    index = source.events
    source.events += 1
    return GeoregionEvent(
        message_id=derived_id(source.message_id, GEOREGION_STAGE, index),
        trace_id=source.trace_id,
        device_id=event.device_id,
        recorded_at=event.recorded_at,
        received_at=received_at,
        source_message_id=source.message_id,
        region_name=event.region,
        event=event.transition.value,
        latitude=event.latitude,
        longitude=event.longitude,
        distance_meters=event.distance_m,
    )
