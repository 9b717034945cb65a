"""LoomliteSettings: every setting, read from overrides, environment and a profile.

Precedence, highest first: keyword overrides, ``LOOMLITE_*`` environment
variables (``__`` separates nested keys, as in
``LOOMLITE_COMPONENTS__AI__ENABLED=false``), the profile TOML file, defaults.
``loomlite.runtime.profiles.load_settings`` is the entry point that reads a
profile; building ``LoomliteSettings()`` directly skips the profile file.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from loomlite.contract.types import UtcDatetime
from loomlite.durations import parse_duration

__all__ = [
    "AiSettings",
    "ComponentSettings",
    "ComponentsSettings",
    "EnrichSettings",
    "ExternalSettings",
    "FetcherSettings",
    "GeofenceRegionSettings",
    "HttpSettings",
    "InferenceSettings",
    "IngestSettings",
    "LoomliteSettings",
    "MonitorSettings",
    "PersistSettings",
    "SimulatorSettings",
    "SupervisorSettings",
]

ClockKind = Literal["real", "accelerated", "manual"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSettings(_Section):
    """Base of every component section, with the options all components share."""

    enabled: bool = True


class IngestSettings(ComponentSettings):
    """Simulated devices and, when ``http.enabled``, the HTTP gateway."""


class HttpSettings(_Section):
    """The HTTP gateway that speaks the production ingestion API.

    It runs inside the ingest component, so disabling ingest disables it too.
    """

    enabled: bool = False
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(
        default=8000, ge=0, le=65535, description="TCP port; 0 picks one."
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Largest request body or WebSocket frame, in bytes; larger "
        "requests get 413.",
    )


class InferenceSettings(_Section):
    """Timeout and circuit breaker of the model backend of each stage.

    Every duration is in real seconds. A backend call that raises or runs
    longer than its timeout counts as a failure. ``failure_threshold``
    failures in a row open the stage's circuit: its messages then go straight
    to the stage's error topic. After ``open_seconds`` one message is let
    through as a probe, and its success closes the circuit again.
    """

    timeout: float = Field(
        default=60.0,
        gt=0,
        description="Real seconds one backend call may take before it is abandoned.",
    )
    stage_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description="Timeouts per stage that replace 'timeout', e.g. {stt = 120.0}.",
    )
    failure_threshold: int = Field(
        default=5,
        ge=1,
        description="Failures or timeouts in a row that open a stage's circuit.",
    )
    open_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Real seconds an open circuit rejects calls before a probe.",
    )

    @field_validator("stage_timeouts")
    @classmethod
    def _check_timeouts(cls, value: dict[str, float]) -> dict[str, float]:
        for stage, seconds in value.items():
            if not seconds > 0:
                raise ValueError(
                    f"timeout of stage {stage!r} must be positive, got {seconds!r}"
                )
        return value

    def timeout_of(self, stage: str) -> float:
        """Return the timeout of ``stage`` in real seconds."""
        return self.stage_timeouts.get(stage, self.timeout)


# Stage names of the backend registry whose options AiSettings.backend_options sets.
_AI_BACKEND_STAGES = ("vad", "stt", "emotion", "ocr", "caption", "embed")


class AiSettings(ComponentSettings):
    """Model stages: voice activity, speech-to-text, OCR, captions, embeddings.

    Each ``*_backend`` option names a backend of the registry in
    ``loomlite.components.ai.backends``.
    """

    # NOTE: the ai component does not read ``backend``. The *_backend options
    # below choose the backend of each stage.
    backend: Literal["simulated", "real"] = "simulated"
    vad_backend: str = Field(
        default="energy",
        description="Voice-activity detector: 'energy' (signal processing), "
        "'silero' (Silero ONNX model), 'webrtc' (WebRTC VAD) or 'simulated' "
        "(level threshold with hashed scores).",
    )
    stt_backend: str = Field(default="simulated", description="Speech-to-text.")
    emotion_backend: str = Field(
        default="simulated-prosody", description="Emotion in speech segments."
    )
    ocr_backend: str = Field(default="simulated", description="Text in images.")
    caption_backend: str = Field(default="simulated", description="Image captions.")
    embed_backend: str = Field(
        default="simulated-hashing", description="Text embeddings."
    )
    backend_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Keyword options per registry stage (vad, stt, emotion, ocr, "
        "caption, embed) passed to its backend, e.g. {stt = {word_ms = 300}}.",
    )
    inference_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker threads that each stage may run inference in at once.",
    )
    inference: InferenceSettings = InferenceSettings()

    @field_validator("backend_options")
    @classmethod
    def _check_backend_stages(
        cls, value: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        unknown = sorted(set(value) - set(_AI_BACKEND_STAGES))
        if unknown:
            raise ValueError(
                f"unknown backend stage(s) {', '.join(map(repr, unknown))}; "
                f"expected one of {', '.join(_AI_BACKEND_STAGES)}"
            )
        return value


class GeofenceRegionSettings(_Section):
    """A circular geofence region: a unique name, its centre and its radius."""

    name: str = Field(min_length=1)
    latitude: float = Field(ge=-90.0, le=90.0, description="Degrees.")
    longitude: float = Field(ge=-180.0, le=180.0, description="Degrees.")
    radius_m: float = Field(gt=0.0, description="Metres.")


class EnrichSettings(ComponentSettings):
    """Geocoding, geofences, steps and motion classification.

    ``geofence``, ``steps``, ``motion`` and ``activity`` are passed to the
    configuration models of the enrich detectors (GeofenceConfig,
    StepCounterConfig, MotionDetectorConfig, ActivityConfig), which the enrich
    component validates when it starts. Durations there accept seconds or
    ISO 8601 strings.
    """

    geocode_backend: str = Field(
        default="simulated-places", description="Reverse-geocoding backend."
    )
    geocode_options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword options of the geocoder."
    )
    inference: InferenceSettings = InferenceSettings()
    regions: tuple[GeofenceRegionSettings, ...] = Field(
        default=(), description="Regions whose entries and exits are detected."
    )
    geofence: dict[str, Any] = Field(default_factory=dict)
    steps: dict[str, Any] = Field(default_factory=dict)
    motion: dict[str, Any] = Field(default_factory=dict)
    activity: dict[str, Any] = Field(default_factory=dict)

    @field_validator("regions")
    @classmethod
    def _check_region_names(
        cls, value: tuple[GeofenceRegionSettings, ...]
    ) -> tuple[GeofenceRegionSettings, ...]:
        names = [region.name for region in value]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(
                    f"region name {name!r} at regions[{index}] is already used; "
                    "give each region a unique name"
                )
        return value


class FetcherSettings(_Section):
    """One fetcher of the external component.

    ``interval`` is time on the runtime clock between fetch cycles, given in
    seconds or ISO 8601 (``PT5M``). Each subclass sets production's default.
    """

    enabled: bool = True
    interval: timedelta = timedelta(minutes=5)

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError(f"expected a positive interval, got {value}")
        return value


class EmailFetcherSettings(FetcherSettings):
    interval: timedelta = timedelta(minutes=5)


class CalendarFetcherSettings(FetcherSettings):
    interval: timedelta = timedelta(minutes=30)


class HackerNewsFetcherSettings(FetcherSettings):
    interval: timedelta = timedelta(hours=2)


class XLikesFetcherSettings(FetcherSettings):
    interval: timedelta = timedelta(hours=6)


class ExternalSettings(ComponentSettings):
    """Fetchers for email, calendar, Hacker News and X likes."""

    email: EmailFetcherSettings = EmailFetcherSettings()
    calendar: CalendarFetcherSettings = CalendarFetcherSettings()
    hackernews: HackerNewsFetcherSettings = HackerNewsFetcherSettings()
    x_likes: XLikesFetcherSettings = XLikesFetcherSettings()


class PersistSettings(ComponentSettings):
    """The database writer."""

    batch_size: int = Field(default=500, ge=1, description="Rows per write.")
    # With 0 a row's transaction starts at once, and rows that arrive while
    # it commits join the next one, so busy pipelines still write in batches.
    flush_interval: float = Field(
        default=0.0,
        ge=0,
        description=(
            "Maximum seconds a row waits for more rows before a write; 0 "
            "writes at once and batches the rows that arrive meanwhile."
        ),
    )


class MonitorSettings(ComponentSettings):
    """Periodic health and lag reports."""

    interval: float = Field(
        default=5.0, gt=0, description="Real seconds between samples."
    )
    history: int = Field(
        default=300, ge=2, description="Samples kept for each history series."
    )
    status_log: bool = Field(
        default=True,
        description="Log an INFO status line after each sample. Turn it off "
        "when a terminal panel shows the status.",
    )
    status_log_interval: float = Field(
        default=5.0,
        ge=0,
        description="Minimum real seconds between two status lines.",
    )


class ComponentsSettings(_Section):
    """One section per component. Unknown component names are rejected."""

    ingest: IngestSettings = IngestSettings()
    ai: AiSettings = AiSettings()
    enrich: EnrichSettings = EnrichSettings()
    external: ExternalSettings = ExternalSettings()
    persist: PersistSettings = PersistSettings()
    monitor: MonitorSettings = MonitorSettings()

    def for_component(self, name: str) -> ComponentSettings:
        """Return the section of component ``name``, or defaults for others."""
        section = getattr(self, name, None)
        return (
            section if isinstance(section, ComponentSettings) else ComponentSettings()
        )


class SimulatorSettings(_Section):
    """Simulated phones, watches and desktops."""

    enabled: bool = False
    devices: int = Field(default=1, ge=1, le=10_000, description="Simulated phones.")
    desktop: bool = Field(default=True, description="Also simulate a desktop.")
    phone: dict[str, Any] = Field(
        default_factory=dict,
        description="Phone sources (simulators.config.PhoneConfig), e.g. "
        'accelerometer = {enabled = true}, and track = "walk.gpx", a GPX '
        "file for the morning walk read relative to the profile file; "
        "checked when the run starts.",
    )
    desktop_sources: dict[str, Any] = Field(
        default_factory=dict,
        description="Desktop sources (simulators.config.DesktopConfig).",
    )


class SupervisorSettings(_Section):
    """Restart, retry and shutdown timing. Every duration is in real seconds."""

    restart_initial_delay: float = Field(default=0.1, ge=0)
    restart_max_delay: float = Field(default=30.0, ge=0)
    restart_healthy_after: float = Field(
        default=60.0,
        gt=0,
        description="Running this long without a crash resets the restart delay.",
    )
    restart_max_attempts: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Consecutive crashes before a component is FAILED; None retries forever."
        ),
    )
    publish_attempts: int = Field(
        default=3,
        ge=1,
        description=(
            "Tries to publish a handler's output before the input goes to the "
            "error topic."
        ),
    )
    publish_retry_delay: float = Field(default=0.05, ge=0)
    fetch_max_records: int = Field(default=500, ge=1)
    drain_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Time a stop waits for running handlers before cancelling them.",
    )


# Values of the profile file that the current load_settings call reads. A
# context variable keeps concurrent loads in other tasks or threads apart.
_profile_values: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "loomlite_profile_values", default=None
)


class _ProfileSource(PydanticBaseSettingsSource):
    """Settings source with the values of the profile file being loaded."""

    def get_field_value(
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        values = _profile_values.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_profile_values.get() or {})


class LoomliteSettings(BaseSettings):
    """Everything a loomlite process is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="LOOMLITE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    profile: str | None = Field(default=None, description="Profile name or file.")
    broker: str = Field(
        default="memory", description="'memory', 'durable' or a broker URL."
    )
    broker_max_committed_bytes: int | None = Field(
        default=262_144,
        ge=1,
        description=(
            "Memory broker: record bytes per partition kept after every active "
            "group committed them; uncommitted records always stay. None: keep "
            "records until the topic's retention deletes them."
        ),
    )
    state_dir: Path = Field(
        default=Path("state"), description="Directory for the durable log and database."
    )
    db_url: str = Field(
        default="",
        description="Database URL; empty means sqlite:///<state_dir>/loomlite.db.",
    )
    clock: ClockKind = "real"
    speed: float = Field(
        default=1.0,
        gt=0,
        description="Accelerated clock: virtual seconds per real second.",
    )
    start: UtcDatetime | None = Field(
        default=None,
        validate_default=True,
        description="Start of virtual time for 'accelerated' and 'manual' clocks.",
    )
    seed: int = Field(default=0, ge=0, description="Seed for simulators and sampling.")
    # NOTE: Runtime does not stop on its own when this much event time has
    # passed; the code that drives a run reads it.
    duration: timedelta | None = Field(
        default=None,
        description=(
            "Event time a run covers: seconds, a value such as '90s' or '1h30m', "
            "or ISO 8601 such as 'PT30M'; None: no limit."
        ),
    )
    log_level: LogLevel = "INFO"
    api_key: SecretStr | None = Field(
        default=None,
        description="Key the HTTP gateway requires in X-API-Key; when unset, "
        "the gateway generates one at start.",
    )
    http: HttpSettings = HttpSettings()
    components: ComponentsSettings = ComponentsSettings()
    simulators: SimulatorSettings = SimulatorSettings()
    supervisor: SupervisorSettings = SupervisorSettings()

    @field_validator("broker")
    @classmethod
    def _check_broker(cls, value: str) -> str:
        if value not in ("memory", "durable") and "://" not in value:
            raise ValueError(
                "expected 'memory', 'durable' or a URL such as 'kafka://localhost:9092'"
            )
        return value

    @field_validator("start")
    @classmethod
    def _check_start(cls, value: datetime | None, info: ValidationInfo) -> Any:
        if value is None and info.data.get("clock") == "manual":
            raise ValueError(
                "clock 'manual' needs 'start', the virtual time it starts at "
                "(for example 2024-05-01T08:00:00Z)"
            )
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _parse_duration_text(cls, value: Any) -> Any:
        # Text in the command-line forms ('3600', '90s', '1h30m') goes through
        # parse_duration. Pydantic parses ISO 8601 ('PT30M') and numbers.
        if not isinstance(value, str):
            return value
        if value.strip().lstrip("+-").upper().startswith("P"):
            return value
        return parse_duration(value)

    @field_validator("duration")
    @classmethod
    def _check_duration(
        cls, value: timedelta | None, info: ValidationInfo
    ) -> timedelta | None:
        if value is None:
            return value
        if value <= timedelta(0):
            raise ValueError("it must be more than 0 seconds")
        # A run ends at start + duration, which must stay a valid datetime.
        start = info.data.get("start") or datetime.now(UTC)
        try:
            start + value
        except OverflowError:
            raise ValueError(
                f"a run from {start.isoformat()} lasting {value.days} days ends "
                "after year 9999; choose a shorter duration"
            ) from None
        return value

    @model_validator(mode="after")
    def _fill_db_url(self) -> Self:
        if not self.db_url:
            url = f"sqlite:///{self.state_dir.as_posix()}/loomlite.db"
            object.__setattr__(self, "db_url", url)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env or secrets files: a profile is the only file loomlite reads.
        return (init_settings, env_settings, _ProfileSource(settings_cls))
