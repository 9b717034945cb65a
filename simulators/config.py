"""Settings of the phone and desktop simulators, one model per source.

Defaults follow the production clients: the mobile app's "balanced" profile
for the phone and the macOS client for the desktop. Sources that production
left off by default (accelerometer, audio, screenshots and notifications on
the phone) are off here too, and ``PhoneConfig.every_source()`` turns them
all on. The phone's Bluetooth scan and the watch's heart rate have no
production client, so their intervals are this project's choice.

Durations accept a ``timedelta`` or a number of seconds, so a profile's TOML
can write ``interval = 30``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AccelerometerConfig",
    "AudioConfig",
    "DesktopConfig",
    "GpsConfig",
    "PeriodicConfig",
    "PhoneConfig",
    "ScreenshotConfig",
    "ToggleConfig",
]


class ToggleConfig(BaseModel):
    """A source that is only switched on or off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True

    def with_enabled(self, enabled: bool = True) -> Self:
        """Return a copy with ``enabled`` set."""
        return self.model_copy(update={"enabled": enabled})


class PeriodicConfig(ToggleConfig):
    """A source that reads every ``interval``."""

    interval: timedelta = timedelta(seconds=60)

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError(f"interval must be positive, got {value!r}")
        return value


class GpsConfig(PeriodicConfig):
    """Location fixes; a fix is sent only after moving ``distance_filter_m``.

    ``noise_m`` is the standard deviation of the position error east and
    north, in metres.
    """

    interval: timedelta = timedelta(seconds=30)
    distance_filter_m: float = Field(10.0, ge=0.0)
    noise_m: float = Field(3.0, ge=0.0)


class AccelerometerConfig(ToggleConfig):
    """Accelerometer samples at ``rate_hz``, uploaded every ``flush_interval``.

    The app read the sensor on a 100 ms timer and uploaded in batches of 50,
    so samples reach the API in bursts.
    """

    enabled: bool = False
    rate_hz: float = Field(10.0, gt=0.0)
    flush_interval: timedelta = timedelta(seconds=5)
    while_walking: bool = Field(
        False,
        description=(
            "Sample only in the 10-minute gait pieces that contain walking, as "
            "apps that switch the sensor on when the OS reports motion do; this "
            "keeps a simulated day small without losing any step."
        ),
    )


class AudioConfig(ToggleConfig):
    """Microphone chunks of ``chunk_duration`` as mono 16-bit WAV.

    Production recorded continuously while audio was on. With
    ``continuous`` False the simulator records only during the scenario's
    conversations, which keeps a demo's load small.
    """

    enabled: bool = False
    chunk_duration: timedelta = timedelta(seconds=5)
    sample_rate: int = Field(16_000, gt=0)
    continuous: bool = False


class ScreenshotConfig(PeriodicConfig):
    """Screenshots every ``interval`` while the screen is on."""

    enabled: bool = False
    interval: timedelta = timedelta(minutes=5)


class PhoneConfig(BaseModel):
    """Every source of the simulated Android phone.

    ``legacy_share`` is the fraction of GPS, accelerometer, heart rate, power
    and audio payloads sent in an older shape (nested ``data{}``, field
    aliases such as ``bearing``, ``heart_rate`` or ``chunk_data``). ``track``
    is a GPX file for the morning walk (see ``simulators.scenario``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    gps: GpsConfig = GpsConfig()
    accelerometer: AccelerometerConfig = AccelerometerConfig()
    battery: PeriodicConfig = PeriodicConfig(interval=timedelta(seconds=60))
    wifi: PeriodicConfig = PeriodicConfig(interval=timedelta(seconds=120))
    bluetooth: PeriodicConfig = PeriodicConfig(interval=timedelta(minutes=5))
    heart_rate: PeriodicConfig = PeriodicConfig(interval=timedelta(seconds=60))
    audio: AudioConfig = AudioConfig()
    screenshots: ScreenshotConfig = ScreenshotConfig()
    app_monitoring: PeriodicConfig = PeriodicConfig(interval=timedelta(minutes=5))
    screen_events: ToggleConfig = ToggleConfig()
    app_events: ToggleConfig = ToggleConfig()
    notifications: ToggleConfig = ToggleConfig(enabled=False)
    legacy_share: float = Field(0.02, ge=0.0, le=1.0)
    track: Path | None = Field(
        None,
        description=(
            "GPX file of the morning walk in place of the bundled Mojstrovka "
            "track; a relative path in a profile is read from the profile's "
            "directory. The walk is re-timed at walking pace."
        ),
    )

    @classmethod
    def every_source(cls, **overrides: object) -> PhoneConfig:
        """Return a config with every source on, then ``overrides`` applied."""
        defaults = cls()
        values: dict[str, object] = {
            name: getattr(defaults, name).with_enabled()
            for name in cls.model_fields
            if name not in ("legacy_share", "track")
        }
        values.update(overrides)
        return cls.model_validate(values)


class DesktopConfig(BaseModel):
    """Every source of the simulated macOS desktop.

    The macOS client recorded 10 s chunks at 44.1 kHz; the default here is
    16 kHz, which keeps a demo's load sane. Set ``audio.sample_rate`` to
    44100 for production's payload size (about 882 KB per chunk).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    audio: AudioConfig = AudioConfig(enabled=True, chunk_duration=timedelta(seconds=10))
    screenshots: ScreenshotConfig = ScreenshotConfig(
        enabled=True, interval=timedelta(seconds=30)
    )
    power: PeriodicConfig = PeriodicConfig(interval=timedelta(seconds=60))
    running_apps: PeriodicConfig = PeriodicConfig(interval=timedelta(seconds=10))
    app_focus: ToggleConfig = ToggleConfig()
    clipboard: ToggleConfig = ToggleConfig()
