"""The phone's sensor sources: GPS, accelerometer, heart rate and battery.

Each reads the owner's state from the PhoneScenario at the clock's time and
sends the mobile app's REST bodies. A configured share of payloads uses an
older shape: ``bearing`` for GPS, and the test producer's nested ``data{}``
for the accelerometer, heart rate and power.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np

from loomlite.components.enrich.geo import destination_point, haversine_distance
from simulators.base import DayEvents, Message, PeriodicSource, TriggeredSource
from simulators.config import AccelerometerConfig, GpsConfig
from simulators.context import DeviceContext
from simulators.gait import (
    AccelerometerSample,
    Bout,
    GaitColumns,
    GaitConfig,
    GaitGenerator,
)
from simulators.scenario import Activity, PhoneScenario
from simulators.track import Position

__all__ = [
    "AccelerometerSource",
    "BatterySource",
    "GaitTimeline",
    "GpsSource",
    "HeartRateSource",
]

GAIT_CHUNK = timedelta(minutes=10)
"""Length of one gait generator run; walking bouts are split at its bounds."""

# Generated pieces kept per phone. Sources read forward in time, so most
# reads need only the newest piece and the one before it. An evicted piece
# that a read needs again is generated again, with the same seed and the
# same samples.
_CACHED_PIECES = 2

_MICROSECOND = timedelta(microseconds=1)

# Ratio of the 68 % error radius to the standard deviation of a circular 2-D
# Gaussian, sqrt(-2 ln 0.32); phones report that radius as ``accuracy``.
_ACCURACY_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))


class GaitTimeline:
    """The owner's gait, generated lazily in GAIT_CHUNK pieces.

    Piece ``k`` covers [start + k * GAIT_CHUNK, start + (k + 1) * GAIT_CHUNK)
    and is generated with its own seed from the scenario's walking
    intervals, so a piece is the same whichever source requests it first.
    Times before the scenario's start have no samples and no steps.
    """

    def __init__(
        self, context: DeviceContext, scenario: PhoneScenario, rate_hz: float
    ) -> None:
        self._context = context
        self._scenario = scenario
        self._config = GaitConfig(nominal_rate_hz=rate_hz)
        self._pieces: dict[int, _GaitPiece] = {}

    def samples_between(
        self, start: datetime, end: datetime, *, walking_only: bool = False
    ) -> list[AccelerometerSample]:
        """Return the accelerometer samples taken in [start, end).

        With ``walking_only`` only pieces that contain walking give samples.
        """
        samples: list[AccelerometerSample] = []
        for index in self._indices(start, end):
            if walking_only and not self._walks(index):
                continue
            samples += self._piece(index).samples_between(start, end)
        return samples

    def steps_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Return the instants of the steps taken in [start, end)."""
        steps: list[datetime] = []
        for index in self._indices(start, end):
            if not self._walks(index):
                continue
            step_times = self._piece(index).step_times
            steps += [t for t in step_times if start <= t < end]
        return steps

    def piece_plan(self, index: int) -> tuple[datetime, list[Bout]]:
        """Return the start and the bouts of piece ``index``."""
        piece_start = self._scenario.start + index * GAIT_CHUNK
        piece_end = piece_start + GAIT_CHUNK
        # A day contains a whole number of pieces, so one day covers the piece.
        day = self._scenario.day_at(piece_start)
        walking = [
            (max(start, piece_start), min(end, piece_end))
            for start, end in day.intervals_of("walking")
            if start < piece_end and end > piece_start
        ]
        bouts = []
        moment = piece_start
        for start, end in walking:
            if start > moment:
                bouts.append(Bout("still", start - moment))
            bouts.append(Bout("walking", end - start))
            moment = end
        if piece_end > moment:
            bouts.append(Bout("still", piece_end - moment))
        return piece_start, bouts

    def seed_of(self, index: int) -> int:
        """Return the gait generator seed of piece ``index``."""
        random = self._context.random("gait", index)
        return int(random.integers(0, 2**63 - 1))

    def _indices(self, start: datetime, end: datetime) -> range:
        first = (start - self._scenario.start) // GAIT_CHUNK
        last = (end - self._scenario.start - timedelta(microseconds=1)) // GAIT_CHUNK
        return range(max(first, 0), max(last, -1) + 1)

    def _walks(self, index: int) -> bool:
        _, bouts = self.piece_plan(index)
        return any(bout.kind == "walking" for bout in bouts)

    def _piece(self, index: int) -> _GaitPiece:
        piece = self._pieces.get(index)
        if piece is None:
            start, bouts = self.piece_plan(index)
            generator = GaitGenerator(seed=self.seed_of(index), config=self._config)
            piece = _GaitPiece(generator.generate_columns(start, bouts))
            if len(self._pieces) >= _CACHED_PIECES:
                del self._pieces[min(self._pieces)]
            self._pieces[index] = piece
        return piece


class _GaitPiece:
    """One generated gait piece, kept as arrays.

    An AccelerometerSample with its datetime and floats takes about 200
    bytes, and an hour at 10 Hz has 36,000 of them. So the piece keeps the
    generator's microsecond offsets and float64 columns (32 bytes a sample)
    and builds the samples of a range when they are read.
    """

    def __init__(self, columns: GaitColumns) -> None:
        self._columns = columns
        self.origin = columns.origin
        self.step_times = columns.truth.step_times

    def samples_between(
        self, start: datetime, end: datetime
    ) -> list[AccelerometerSample]:
        """Return the samples taken in [start, end)."""
        offsets = self._columns.offsets
        if offsets.size == 0:
            return []
        bounds = [
            (start - self.origin) // _MICROSECOND,
            (end - self.origin) // _MICROSECOND,
        ]
        first, last = np.searchsorted(offsets, bounds, side="left").tolist()
        return list(self._columns.samples(first, last))


class GpsSource(PeriodicSource):
    """Location fixes every ``interval``, after moving ``distance_filter_m``."""

    def __init__(
        self,
        context: DeviceContext,
        scenario: PhoneScenario,
        config: GpsConfig,
        start: datetime,
    ) -> None:
        super().__init__("gps", start, config.interval)
        self._scenario = scenario
        self._config = config
        self._random = context.random("gps")
        self._payloads = context.payloads("gps", legacy=True)
        self._last: tuple[float, float] | None = None

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        fix = self._with_noise(self._scenario.position_at(now))
        if self._last is not None:
            moved = haversine_distance(*self._last, fix.latitude, fix.longitude)
            if moved < self._config.distance_filter_m:
                return []
        self._last = (fix.latitude, fix.longitude)
        direction_field = "bearing" if self._payloads.use_legacy_shape() else "heading"
        fields = {
            "latitude": fix.latitude,
            "longitude": fix.longitude,
            "altitude": fix.altitude,
            "accuracy": fix.accuracy,
            direction_field: fix.heading,
            "speed": fix.speed,
        }
        return [Message("device.sensor.gps.raw", self._payloads.flat(now, fields))]

    def _with_noise(self, position: Position) -> Position:
        sigma = self._config.noise_m
        east, north = self._random.normal(0.0, sigma, 2) if sigma else (0.0, 0.0)
        latitude, longitude = position.latitude, position.longitude
        if sigma:
            distance = math.hypot(east, north)
            bearing = math.degrees(math.atan2(east, north))
            latitude, longitude = destination_point(
                latitude, longitude, bearing, distance
            )
        return Position(
            recorded_at=position.recorded_at,
            latitude=latitude,
            longitude=longitude,
            altitude=position.altitude,
            speed=position.speed,
            heading=position.heading,
            accuracy=round(_ACCURACY_PER_SIGMA * sigma, 2),
        )


class AccelerometerSource(PeriodicSource):
    """Uploads the samples taken since the last upload every ``flush_interval``.

    Samples taken after the last upload before the run's end are not sent.
    """

    def __init__(
        self,
        context: DeviceContext,
        gait: GaitTimeline,
        config: AccelerometerConfig,
        start: datetime,
    ) -> None:
        super().__init__(
            "accelerometer", start + config.flush_interval, config.flush_interval
        )
        self._gait = gait
        self._rate_hz = config.rate_hz
        self._walking_only = config.while_walking
        self._payloads = context.payloads("accelerometer", legacy=True)
        self._flushed_until = start

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        samples = self._gait.samples_between(
            self._flushed_until, now, walking_only=self._walking_only
        )
        self._flushed_until = now
        return [
            Message("device.sensor.accelerometer.raw", self._payload(sample))
            for sample in samples
        ]

    def _payload(self, sample: AccelerometerSample) -> dict[str, object]:
        if self._payloads.use_legacy_shape():
            data = {
                "x": sample.x,
                "y": sample.y,
                "z": sample.z,
                "magnitude": math.sqrt(sample.x**2 + sample.y**2 + sample.z**2),
                "sample_rate": self._rate_hz,
            }
            return self._payloads.nested(sample.recorded_at, data)
        fields = {"x": sample.x, "y": sample.y, "z": sample.z}
        return self._payloads.flat(sample.recorded_at, fields)


# Heart rate the owner's pulse drifts towards in each activity, in bpm.
_TARGET_BPM: dict[Activity, float] = {
    "sleeping": 56.0,
    "still": 70.0,
    "walking": 108.0,
    "driving": 78.0,
}
# Time constant of the drift, in seconds: a pulse settles within minutes.
_BPM_TIME_CONSTANT = 90.0


class HeartRateSource(PeriodicSource):
    """A paired watch's heart rate, which follows the owner's activity."""

    def __init__(
        self,
        context: DeviceContext,
        scenario: PhoneScenario,
        interval: timedelta,
        start: datetime,
    ) -> None:
        super().__init__("heart_rate", start, interval)
        self._scenario = scenario
        self._random = context.random("heart_rate")
        self._payloads = context.payloads("heart_rate", legacy=True)
        self._bpm = _TARGET_BPM[scenario.activity_at(start)]
        self._at = start

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        activity = self._scenario.activity_at(now)
        target = _TARGET_BPM[activity]
        elapsed = (now - self._at).total_seconds()
        weight = math.exp(-elapsed / _BPM_TIME_CONSTANT)
        noise = float(self._random.normal(0.0, 2.0))
        self._bpm = target + (self._bpm - target) * weight + noise
        self._at = now
        bpm = max(35, round(self._bpm))
        confidence = round(float(self._random.uniform(0.85, 0.99)), 2)
        active = activity in ("walking", "driving")
        if self._payloads.use_legacy_shape():
            data = {
                "heart_rate": bpm,
                "confidence": confidence,
                "measurement_type": "active" if active else "resting",
                "variability": round(float(self._random.uniform(20.0, 70.0)), 1),
            }
            payload = self._payloads.nested(now, data, {"source": "watch"})
        else:
            fields = {"bpm": bpm, "confidence": confidence}
            payload = self._payloads.flat(now, fields)
        return [Message("device.health.heartrate.raw", payload)]


# Estimated battery drain and charge rates, in percent per hour.
_IDLE_DRAIN = 1.2
_SCREEN_DRAIN = 9.0
_MOVING_DRAIN = 4.0
_CHARGE_RATE = 40.0


class BatterySource(TriggeredSource):
    """Battery readings every ``interval`` and whenever charging starts or stops."""

    def __init__(
        self,
        context: DeviceContext,
        scenario: PhoneScenario,
        interval: timedelta,
        start: datetime,
    ) -> None:
        triggers = DayEvents(
            lambda index: _charge_changes(scenario, index),
            first_day=scenario.day_index(start),
            after=start,
        )
        super().__init__("battery", start, interval, triggers)
        self._scenario = scenario
        self._payloads = context.payloads("battery", legacy=True)
        self._level = float(context.random("battery").uniform(45.0, 70.0))
        self._at = start

    def read(self, now: datetime) -> Iterable[Message]:
        self._advance(now)
        charging = self._scenario.is_charging(now)
        level = round(self._level, 1)
        if self._payloads.use_legacy_shape():
            data = {
                "battery_level": level,
                "is_charging": charging,
                "power_source": "ac_charger" if charging else "battery",
                "battery_health": "good",
                "temperature_celsius": 31.5 if charging else 28.0,
            }
            payload = self._payloads.nested(now, data)
        else:
            fields = {
                "battery_level": level,
                "is_charging": charging,
                "power_source": "ac_charger" if charging else "battery",
                "lid_closed": None,
                "thermal_state": None,
            }
            payload = self._payloads.flat(now, fields)
        return [Message("device.state.power.raw", payload)]

    def _advance(self, now: datetime) -> None:
        """Integrate charge or drain from the last reading to ``now``."""
        hours = (now - self._at).total_seconds() / 3600.0
        previous = self._at
        self._at = now
        if hours <= 0:
            return
        if self._scenario.is_charging(previous):
            self._level = min(100.0, self._level + _CHARGE_RATE * hours)
            return
        rate = _IDLE_DRAIN
        day = self._scenario.day_at(previous)
        if day.screen_session_at(previous) is not None:
            rate += _SCREEN_DRAIN
        if day.activity_at(previous) in ("walking", "driving"):
            rate += _MOVING_DRAIN
        self._level = max(1.0, self._level - rate * hours)


def _charge_changes(scenario: PhoneScenario, index: int) -> list[tuple[datetime, bool]]:
    """Return the day's plug and unplug times with the new charging state."""
    day = scenario.day(index)
    return [(day.wake, False), (day.bedtime, True)]
