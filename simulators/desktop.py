"""A simulated macOS desktop with the Loom macOS client's sources.

While the machine is awake it sends app focus changes and clipboard copies.
It also sends screenshots every 30 s, power state every 60 s and the running
apps every 10 s. Audio goes out as 10 s WAV chunks during calls, or all the
time with ``audio.continuous``. Bodies follow the macOS client: ``recorded_at`` as a
naive UTC time, audio under ``chunk_data``, no ``services_encountered``.

Ground truth records the utterances of the calls and the screenshots sent.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from simulators.base import (
    DayEvents,
    EventSource,
    Message,
    PeriodicSource,
    Simulator,
    Source,
)
from simulators.config import DesktopConfig
from simulators.context import DeviceContext
from simulators.desktop_day import (
    BACKGROUND_APPS,
    MACOS_APPS,
    AppFocus,
    ClipboardCopy,
    DesktopDay,
    plan_desktop_day,
)
from simulators.ids import device_uuid
from simulators.media import Conversation, ScreenImage
from simulators.payloads import PayloadFactory, epoch_seconds
from simulators.recorders import (
    AudioChunk,
    AudioSource,
    ScreenshotSource,
    conversation_chunks,
)
from simulators.truth import GroundTruth

__all__ = ["DesktopDays", "DesktopSimulator"]

DAY = timedelta(days=1)


class DesktopDays:
    """The desktop's days from ``start`` on, planned lazily and cached."""

    def __init__(self, start: datetime, seed: int) -> None:
        self.start = start.astimezone(UTC)
        self.seed = seed
        self._days: dict[int, DesktopDay] = {}

    def day(self, index: int) -> DesktopDay:
        plan = self._days.get(index)
        if plan is None:
            plan = plan_desktop_day(self.start + index * DAY, index, self.seed)
            if len(self._days) >= 3:
                del self._days[min(self._days)]
            self._days[index] = plan
        return plan

    def day_index(self, moment: datetime) -> int:
        return max(0, (moment - self.start) // DAY)

    def day_at(self, moment: datetime) -> DesktopDay:
        return self.day(self.day_index(moment))

    def focus_at(self, moment: datetime) -> AppFocus | None:
        return self.day_at(moment).focus_at(moment)

    def is_awake(self, moment: datetime) -> bool:
        return self.day_at(moment).is_awake(moment)

    def calls_near(self, moment: datetime) -> list[Conversation]:
        index = self.day_index(moment)
        indices = [index - 1, index] if index > 0 else [index]
        return [call for i in indices for call in self.day(i).calls]


class DesktopSimulator(Simulator):
    """A macOS desktop used during working hours.

    Its days start at the clock's time when ``run`` starts, unless ``start``
    is given. ``device_id`` defaults to a UUID derived from the seed and
    ``name``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        name: str = "desktop",
        config: DesktopConfig | None = None,
        start: datetime | None = None,
        device_id: str | None = None,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.name = name
        self.config = config or DesktopConfig()
        self.days = None if start is None else DesktopDays(start, seed)
        self.device_id = device_id or device_uuid(seed, name)
        self.truth = GroundTruth(name, self.device_id)

    def sources(self, start: datetime, until: datetime) -> Sequence[Source]:
        if self.days is None:
            self.days = DesktopDays(start, self.seed)
        days = self.days
        config = self.config
        context = DeviceContext(self.device_id, self.seed, self.truth, client=None)
        sources: list[Source] = []
        if config.app_focus.enabled:
            sources.append(_FocusSource(context, days, start))
        if config.clipboard.enabled:
            sources.append(_ClipboardSource(context, days, start))
        if config.power.enabled:
            sources.append(_PowerSource(context, days, config.power.interval, start))
        if config.running_apps.enabled:
            sources.append(
                _RunningAppsSource(context, days, config.running_apps.interval, start)
            )
        if config.screenshots.enabled:
            sources.append(
                ScreenshotSource(
                    context,
                    start=start,
                    interval=config.screenshots.interval,
                    image_at=lambda moment: _screen_image_at(days, moment),
                    shape=_screenshot_payload,
                )
            )
        if config.audio.enabled:
            sources.append(self._audio_source(context, days, start))
        return sources

    def _audio_source(
        self, context: DeviceContext, days: DesktopDays, start: datetime
    ) -> AudioSource:
        audio = self.config.audio
        length = audio.chunk_duration
        if audio.continuous:
            chunk_starts = _awake_chunks(days, start, length)
        else:
            chunk_starts = conversation_chunks(
                lambda index: days.day(index).calls,
                days.day_index(start),
                start,
                length,
            )
        return AudioSource(
            context,
            chunk_starts=chunk_starts,
            length=length,
            sample_rate=audio.sample_rate,
            conversations_near=days.calls_near,
            shape=_audio_payload,
        )


def _awake_chunks(
    days: DesktopDays, after: datetime, length: timedelta
) -> Iterator[datetime]:
    """Yield chunk starts every ``length`` through each awake period."""
    index = days.day_index(after)
    while True:
        for period_start, period_end in days.day(index).awake:
            moment = period_start
            while moment < period_end:
                if moment >= after:
                    yield moment
                moment += length
        index += 1


def _screen_image_at(days: DesktopDays, moment: datetime) -> str | None:
    focus = days.focus_at(moment)
    return None if focus is None else focus.screen_image


def _audio_payload(
    payloads: PayloadFactory, chunk: AudioChunk, length: timedelta
) -> dict[str, Any]:
    fields = {
        "chunk_data": chunk.base64,
        "sample_rate": chunk.sample_rate,
        "channels": 1,
        "duration_ms": round(length.total_seconds() * 1000),
        "format": "wav",
        "metadata": {"chunk_index": chunk.number, "source": "microphone"},
    }
    return payloads.plain(chunk.start, fields)


def _screenshot_payload(
    payloads: PayloadFactory, moment: datetime, image: ScreenImage
) -> dict[str, Any]:
    fields = {
        "image_data": base64.b64encode(image.png).decode("ascii"),
        "format": "png",
        "width": image.width,
        "height": image.height,
        "camera_type": "screen",
        "file_size": len(image.png),
        "metadata": {"display": "main", "capture": "periodic"},
    }
    return payloads.plain(moment, fields)


@dataclass(frozen=True, slots=True)
class _FocusChange:
    focus: AppFocus
    event_type: Literal["foreground", "background"]


class _FocusSource(EventSource[_FocusChange]):
    """An app losing the focus, then the next one gaining it."""

    def __init__(self, context: DeviceContext, days: DesktopDays, start: datetime):
        events = DayEvents(
            lambda index: _focus_changes(days.day(index)),
            first_day=days.day_index(start),
            after=start,
        )
        super().__init__("app_focus", events)
        self._payloads = context.payloads("app_focus")

    def handle(self, moment: datetime, item: _FocusChange) -> Iterable[Message]:
        fields: dict[str, Any] = {
            "app_identifier": item.focus.bundle_id,
            "app_name": item.focus.name,
            "event_type": item.event_type,
        }
        if item.event_type == "background":
            seconds = (item.focus.end - item.focus.start).total_seconds()
            fields["duration_seconds"] = round(seconds)
        fields["metadata"] = {"trigger": "focus_change"}
        payload = self._payloads.plain(moment, fields)
        return [Message("os.events.app_lifecycle.raw", payload)]


def _focus_changes(day: DesktopDay) -> list[tuple[datetime, _FocusChange]]:
    changes = []
    for focus in day.focus:
        changes.append((focus.start, _FocusChange(focus, "foreground")))
        changes.append((focus.end, _FocusChange(focus, "background")))
    changes.sort(key=lambda change: (change[0], change[1].event_type == "foreground"))
    return changes


class _ClipboardSource(EventSource[ClipboardCopy]):
    """Each copy of text to the clipboard."""

    def __init__(self, context: DeviceContext, days: DesktopDays, start: datetime):
        events = DayEvents(
            lambda index: [(copy.at, copy) for copy in days.day(index).copies],
            first_day=days.day_index(start),
            after=start,
        )
        super().__init__("clipboard", events)
        self._payloads = context.payloads("clipboard")

    def handle(self, moment: datetime, item: ClipboardCopy) -> Iterable[Message]:
        fields = {
            "content_type": item.content_type,
            "content_text": item.text,
            "source_app": item.source_app,
        }
        return [Message("digital.clipboard.raw", self._payloads.plain(moment, fields))]


class _PowerSource(PeriodicSource):
    """Power state every ``interval`` while awake; the laptop sits on its charger."""

    def __init__(
        self,
        context: DeviceContext,
        days: DesktopDays,
        interval: timedelta,
        start: datetime,
    ) -> None:
        super().__init__("power", start, interval)
        self._days = days
        self._random = context.random("power")
        self._payloads = context.payloads("power")
        self._level = float(self._random.uniform(55.0, 90.0))
        self._at = start

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        hours = (now - self._at).total_seconds() / 3600.0
        self._at = now
        # An estimated charge rate of a laptop in use: 30 % per hour.
        self._level = min(100.0, self._level + 30.0 * hours)
        if not self._days.is_awake(now):
            return []
        charging = self._level < 100.0
        fields = {
            "battery_level": round(self._level, 1),
            "is_charging": charging,
            "is_plugged_in": True,
            "power_source": "ac_power",
            "lid_closed": False,
            "thermal_state": "nominal",
            "metadata": {
                "cpu_percent": round(float(self._random.uniform(3.0, 45.0)), 1),
                "memory_percent": round(float(self._random.uniform(40.0, 75.0)), 1),
            },
        }
        return [Message("device.state.power.raw", self._payloads.plain(now, fields))]


class _RunningAppsSource(PeriodicSource):
    """The running applications every ``interval`` while awake."""

    def __init__(
        self,
        context: DeviceContext,
        days: DesktopDays,
        interval: timedelta,
        start: datetime,
    ) -> None:
        super().__init__("running_apps", start, interval)
        self._days = days
        self._payloads = context.payloads("running_apps")

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        day = self._days.day_at(now)
        if not day.is_awake(now):
            return []
        focus = day.focus_at(now)
        launched = epoch_seconds(day.awake[0][0])
        names = {bundle: name for bundle, (name, _) in MACOS_APPS.items()}
        names.update(BACKGROUND_APPS)
        applications = []
        for number, (bundle, name) in enumerate(sorted(names.items())):
            active = focus is not None and focus.bundle_id == bundle
            applications.append(
                {
                    "pid": 400 + 37 * number + day.index % 7,
                    "name": name,
                    "bundle_id": bundle,
                    "active": active,
                    "hidden": False,
                    "launch_date": launched,
                }
            )
        fields = {"running_applications": applications}
        payload = self._payloads.plain(now, fields)
        return [Message("device.system.apps.macos.raw", payload)]
