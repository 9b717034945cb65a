"""A simulated Android phone that follows a PhoneScenario.

The phone sends what the Loom mobile app sent in its "balanced" profile:
GPS fixes, battery and Wi-Fi readings, screen, lock and app events, and
running apps with usage statistics. When switched on, it also sends
accelerometer samples, 5 s WAV audio chunks, screenshots and notifications.
A paired watch adds heart rate readings, and the phone scans for Bluetooth
devices. PhoneConfig sets every source.

Ground truth records the steps taken, the regions visited, the utterances
recorded and the screenshots sent.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from simulators.base import DayEvents, Message, PeriodicSource, Simulator, Source
from simulators.config import PhoneConfig
from simulators.context import DeviceContext
from simulators.gpx import read_gpx
from simulators.ids import device_uuid
from simulators.media import Conversation, ScreenImage
from simulators.payloads import PayloadFactory
from simulators.phone_apps import (
    AppEventsSource,
    AppMonitoringSource,
    NotificationSource,
    ScreenEventsSource,
)
from simulators.phone_radio import BluetoothSource, WifiSource
from simulators.phone_sensors import (
    AccelerometerSource,
    BatterySource,
    GaitTimeline,
    GpsSource,
    HeartRateSource,
)
from simulators.places import RegionCrossing
from simulators.recorders import (
    AudioChunk,
    AudioSource,
    ScreenshotShape,
    ScreenshotSource,
    continuous_chunks,
    conversation_chunks,
)
from simulators.scenario import PhoneScenario
from simulators.truth import GroundTruth

__all__ = ["PhoneSimulator"]

logger = logging.getLogger(__name__)

# Screenshot fixture shown by each app; there are two phone screens, and the
# apps without a matching one show the settings screen.
_SCREEN_IMAGES = {
    "org.telegram.messenger": "phone-chat",
    "com.google.android.gm": "phone-chat",
}
_DEFAULT_SCREEN_IMAGE = "phone-settings"
_TRUTH_INTERVAL = timedelta(minutes=1)


class PhoneSimulator(Simulator):
    """A phone carried by the owner of a PhoneScenario.

    Without a ``scenario`` the phone plans one from the clock's time when
    ``run`` starts, on ``config.track`` when that is set. ``device_id``
    defaults to a UUID derived from the seed and ``name``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        name: str = "phone",
        config: PhoneConfig | None = None,
        scenario: PhoneScenario | None = None,
        device_id: str | None = None,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.name = name
        self.config = config or PhoneConfig()
        self.scenario = scenario
        if scenario is None and self.config.track is not None:
            # The scenario is planned when the run starts. Reading the file
            # now makes a bad track fail here, with GpxError naming it.
            read_gpx(self.config.track)
        self.device_id = device_id or device_uuid(seed, name)
        self.truth = GroundTruth(name, self.device_id)
        self.gait: GaitTimeline | None = None
        self._truth_source: _TruthSource | None = None

    def sources(self, start: datetime, until: datetime) -> Sequence[Source]:
        if self.scenario is None:
            self.scenario = PhoneScenario(
                start, seed=self.seed, walk_track=self.config.track
            )
        scenario = self.scenario
        config = self.config
        context = DeviceContext(
            self.device_id, self.seed, self.truth, config.legacy_share, "mobile-client"
        )
        self.gait = GaitTimeline(context, scenario, config.accelerometer.rate_hz)
        self._truth_source = _TruthSource(self.truth, scenario, self.gait, start)

        sources: list[Source] = [self._truth_source]
        if config.gps.enabled:
            sources.append(GpsSource(context, scenario, config.gps, start))
        if config.accelerometer.enabled:
            sources.append(
                AccelerometerSource(context, self.gait, config.accelerometer, start)
            )
        if config.battery.enabled:
            sources.append(
                BatterySource(context, scenario, config.battery.interval, start)
            )
        if config.wifi.enabled:
            sources.append(WifiSource(context, scenario, config.wifi.interval, start))
        if config.bluetooth.enabled:
            sources.append(
                BluetoothSource(context, scenario, config.bluetooth.interval, start)
            )
        if config.heart_rate.enabled:
            sources.append(
                HeartRateSource(context, scenario, config.heart_rate.interval, start)
            )
        sources += self._event_sources(context, scenario, start)
        sources += self._media_sources(context, scenario, start)
        return sources

    def finish(self, until: datetime) -> None:
        if self._truth_source is not None:
            self._truth_source.record_until(until)

    def _event_sources(
        self, context: DeviceContext, scenario: PhoneScenario, start: datetime
    ) -> list[Source]:
        config = self.config
        sources: list[Source] = []
        if config.screen_events.enabled:
            sources.append(ScreenEventsSource(context, scenario, start))
        if config.app_events.enabled:
            sources.append(AppEventsSource(context, scenario, start))
        if config.app_monitoring.enabled:
            sources.append(
                AppMonitoringSource(
                    context, scenario, config.app_monitoring.interval, start
                )
            )
        if config.notifications.enabled:
            sources.append(NotificationSource(context, scenario, start))
        return sources

    def _media_sources(
        self, context: DeviceContext, scenario: PhoneScenario, start: datetime
    ) -> list[Source]:
        config = self.config
        sources: list[Source] = []
        if config.audio.enabled:
            length = config.audio.chunk_duration
            if config.audio.continuous:
                chunk_starts = continuous_chunks(start, length)
            else:
                chunk_starts = conversation_chunks(
                    lambda index: scenario.day(index).conversations,
                    scenario.day_index(start),
                    start,
                    length,
                )
            sources.append(
                AudioSource(
                    context,
                    chunk_starts=chunk_starts,
                    length=length,
                    sample_rate=config.audio.sample_rate,
                    conversations_near=lambda moment: _conversations_near(
                        scenario, moment
                    ),
                    shape=_audio_payload,
                    legacy=True,
                )
            )
        if config.screenshots.enabled:
            sources.append(
                ScreenshotSource(
                    context,
                    start=start,
                    interval=config.screenshots.interval,
                    image_at=lambda moment: _screen_image_at(scenario, moment),
                    shape=_screenshot_payload(config.screenshots.interval),
                )
            )
        return sources


def _conversations_near(
    scenario: PhoneScenario, moment: datetime
) -> list[Conversation]:
    index = scenario.day_index(moment)
    indices = [index - 1, index] if index > 0 else [index]
    return [c for i in indices for c in scenario.day(i).conversations]


def _screen_image_at(scenario: PhoneScenario, moment: datetime) -> str | None:
    use = scenario.day_at(moment).app_at(moment)
    if use is None:
        return None
    return _SCREEN_IMAGES.get(use.package, _DEFAULT_SCREEN_IMAGE)


def _audio_payload(
    payloads: PayloadFactory, chunk: AudioChunk, length: timedelta
) -> dict[str, Any]:
    duration_ms = round(length.total_seconds() * 1000)
    if payloads.use_legacy_shape():
        data = {
            "chunk_data": chunk.base64,
            "sample_rate": chunk.sample_rate,
            "duration_ms": duration_ms,
            "channels": 1,
            "format": "wav",
            "file_id": f"chunk_{chunk.number}",
        }
        return payloads.unified(
            "audio_chunk", chunk.start, data, pipeline_hint="audio_transcription"
        )
    fields = {
        "data": chunk.base64,
        "sample_rate": chunk.sample_rate,
        "channels": 1,
        "format": "wav",
        "duration_ms": duration_ms,
        "file_id": f"chunk_{chunk.number}",
    }
    return payloads.flat(chunk.start, fields)


def _screenshot_payload(interval: timedelta) -> ScreenshotShape:
    def build(
        payloads: PayloadFactory, moment: datetime, image: ScreenImage
    ) -> dict[str, Any]:
        fields = {
            "image_data": _base64(image.png),
            "format": "png",
            "width": image.width,
            "height": image.height,
            "camera_type": "screen",
            "file_size": len(image.png),
            "metadata": {
                "capture_method": "media_projection",
                "image_size": len(image.png),
                "interval_seconds": round(interval.total_seconds()),
            },
        }
        return payloads.event(moment, fields)

    return build


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class _TruthSource(PeriodicSource):
    """Writes steps and region crossings into the ground truth every minute."""

    def __init__(
        self,
        truth: GroundTruth,
        scenario: PhoneScenario,
        gait: GaitTimeline,
        start: datetime,
    ) -> None:
        super().__init__("truth", start + _TRUTH_INTERVAL, _TRUTH_INTERVAL)
        self._truth = truth
        self._gait = gait
        self._recorded_until = start
        self._crossings: DayEvents[RegionCrossing] = DayEvents(
            lambda index: [(c.at, c) for c in scenario.day(index).crossings],
            first_day=scenario.day_index(start),
            after=start,
        )
        region = scenario.region_at(start)
        if region is not None:
            truth.enter_place(region, start)

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        self.record_until(now)
        return []

    def record_until(self, moment: datetime) -> None:
        """Record the steps taken and the regions crossed before ``moment``."""
        if moment <= self._recorded_until:
            return
        self._truth.add_steps(self._gait.steps_between(self._recorded_until, moment))
        for _, crossing in self._crossings.pop_due(moment - timedelta(microseconds=1)):
            if crossing.event == "enter":
                self._truth.enter_place(crossing.region, crossing.at)
            else:
                self._truth.exit_place(crossing.region, crossing.at)
        self._recorded_until = moment
