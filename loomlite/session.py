"""One ``loomlite up`` run: the whole pipeline with simulated devices.

``run_session`` builds the components from the settings and runs them until
the duration has passed in event time or ``stop`` is set. It then flushes every
component's held windows, stops the runtime, and returns a SessionReport with
messages per topic, rows per table, errors and ground-truth scores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from loomlite.clock import AcceleratedClock, Clock, ManualClock, SystemClock
from loomlite.components.ai.component import AiComponent
from loomlite.components.ai.loading import (
    AiBackends,
    check_profile_backends,
    load_ai_backends,
    model_backends,
)
from loomlite.components.enrich.component import EnrichComponent, load_geocoder
from loomlite.components.enrich.geocode import ReverseGeocoder
from loomlite.components.external.component import ExternalComponent
from loomlite.components.ingest import IngestComponent
from loomlite.components.monitor import MonitorComponent
from loomlite.components.persist import (
    PersistComponent,
    persist_component,
    produced_topics,
)
from loomlite.contract import CATALOG
from loomlite.contract.catalog import TopicKind
from loomlite.errors import ConfigurationError, GpxError
from loomlite.runtime.runtime import Runtime, RuntimeStatistics
from loomlite.runtime.settings import LoomliteSettings
from loomlite.runtime.topology_file import write_topology_file
from loomlite.runtime.virtual_time import drive_virtual_time
from loomlite.scoring import (
    RegionEntry,
    StepScore,
    VisitScore,
    score_steps,
    score_visits,
)
from loomlite.sink import build_metadata, create_engine, migrate
from simulators.base import Simulator
from simulators.config import DesktopConfig, PhoneConfig
from simulators.desktop import DesktopSimulator
from simulators.media import SPEECH_RECORDINGS, load_speech
from simulators.phone import PhoneSimulator
from simulators.scenario import PhoneScenario

__all__ = [
    "DEFAULT_START",
    "SessionReport",
    "build_devices",
    "run_session",
]

logger = logging.getLogger(__name__)

# Virtual time starts here unless the profile sets 'start', so that two runs
# with the same seed cover the same simulated day. 2025-06-02 is a Monday.
DEFAULT_START = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)

# How long one flush or idle wait may take, in real seconds.
_IDLE_TIMEOUT = 120.0


@dataclass(slots=True)
class SessionReport:
    """The output of one run, for the summary and for tests."""

    start: datetime
    end: datetime
    database: str
    messages: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    steps: list[StepScore] = field(default_factory=list)
    visits: list[VisitScore] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    real_seconds: float = 0.0
    loop_lag_max_seconds: float | None = None
    """Maximum event-loop block during the run, in real seconds."""
    backends: list[dict[str, Any]] = field(default_factory=list)
    """Counters and circuit state of each stage's model backend."""

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "database": self.database,
            "real_seconds": round(self.real_seconds, 3),
            "loop_lag_max_seconds": None
            if self.loop_lag_max_seconds is None
            else round(self.loop_lag_max_seconds, 6),
            "backends": self.backends,
            "messages": self.messages,
            "rows": self.rows,
            "rows_written": self.rows_written,
            "errors": self.errors,
            "steps": [score.as_dict() for score in self.steps],
            "visits": [score.as_dict() for score in self.visits],
        }


def session_clock(settings: LoomliteSettings, *, virtual: bool) -> Clock:
    """Return the clock of a run: manual for ``--speed max``, else from the settings."""
    start = settings.start or DEFAULT_START
    if virtual:
        return ManualClock(start)
    if settings.clock == "accelerated" or settings.speed != 1.0:
        return AcceleratedClock(settings.speed, start=start)
    return SystemClock()


def build_devices(
    settings: LoomliteSettings, start: datetime
) -> tuple[PhoneScenario, list[Simulator]]:
    """Build the simulated phones and desktop of the profile, all seeded from it."""
    seed = settings.seed
    # Simulated days run midnight to midnight in UTC, whatever time the run
    # starts at, so a run from 07:00 meets the owner waking up.
    midnight = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    devices: list[Simulator] = []
    options = settings.simulators
    if not options.enabled:
        return PhoneScenario(midnight, seed=seed), devices
    phone_config = _source_config(PhoneConfig, options.phone, "simulators.phone")
    scenario = _phone_scenario(midnight, seed, phone_config.track)
    for index in range(options.devices):
        devices.append(
            PhoneSimulator(
                seed=seed + index,
                name=f"phone-{index}",
                config=phone_config,
                scenario=scenario,
            )
        )
    if options.desktop:
        desktop_config = _source_config(
            DesktopConfig, options.desktop_sources, "simulators.desktop_sources"
        )
        devices.append(
            DesktopSimulator(
                seed=seed, name="desktop", config=desktop_config, start=midnight
            )
        )
    return scenario, devices


def _phone_scenario(start: datetime, seed: int, track: Path | None) -> PhoneScenario:
    try:
        return PhoneScenario(start, seed=seed, walk_track=track)
    except GpxError as error:
        raise ConfigurationError(
            f"invalid simulators.phone.track: {error}; give a GPX file with at "
            "least one <trkpt> or remove the setting to walk the bundled track",
            key="simulators.phone.track",
        ) from error


_ConfigT = TypeVar("_ConfigT", bound=BaseModel)


def _source_config(
    model: type[_ConfigT], values: Mapping[str, Any], key: str
) -> _ConfigT:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ConfigurationError(
            f"invalid value for {key}.{where}: {problem['msg']}", key=f"{key}.{where}"
        ) from None


async def _count_rows(url: str) -> dict[str, int]:
    metadata = build_metadata(CATALOG)
    engine = create_engine(url)
    counts: dict[str, int] = {}
    try:
        async with engine.connect() as connection:
            for table in metadata.sorted_tables:
                query = sa.select(sa.func.count()).select_from(table)
                count = (await connection.execute(query)).scalar_one()
                if count:
                    counts[table.name] = int(count)
    finally:
        await engine.dispose()
    return counts


async def _read_scores(
    url: str, devices: list[Simulator], regions: Collection[str]
) -> tuple[list[StepScore], list[VisitScore]]:
    """Score each phone's stored steps and region entries against its truth.

    Only visits to ``regions``, the geofences the profile configures, can be
    detected, so only those are scored; without regions there is no visit
    score. A visit under way when the run starts counts as entered at the
    start, as the geofence reports the region of the first fix.
    """
    metadata = build_metadata(CATALOG)
    steps_table = metadata.tables[_table_name("device.health.steps.derived")]
    region_table = metadata.tables[_table_name("location.georegion.detected")]
    engine = create_engine(url)
    step_scores: list[StepScore] = []
    visit_scores: list[VisitScore] = []
    try:
        async with engine.connect() as connection:
            for device in devices:
                if not isinstance(device, PhoneSimulator):
                    continue
                truth = device.truth
                counts = await connection.execute(
                    sa.select(steps_table.c.step_count).where(
                        steps_table.c.device_id == device.device_id
                    )
                )
                step_scores.append(
                    score_steps(
                        device.device_id,
                        truth.total_steps,
                        (row[0] for row in counts),
                    )
                )
                if not regions:
                    continue
                entries = await connection.execute(
                    sa.select(region_table.c.region_name, region_table.c.recorded_at)
                    .where(region_table.c.device_id == device.device_id)
                    .where(region_table.c.event == "enter")
                )
                reported = [RegionEntry(name, at) for name, at in entries]
                expected = [
                    RegionEntry(visit.region, visit.enter)
                    for visit in truth.places
                    if visit.region in regions
                ]
                visit_scores.append(score_visits(device.device_id, expected, reported))
    finally:
        await engine.dispose()
    return step_scores, visit_scores


def _table_name(topic: str) -> str:
    table = CATALOG.get(topic).table
    assert table is not None, f"topic {topic!r} is persisted"
    return table.name


def _messages_per_topic(statistics: RuntimeStatistics) -> dict[str, int]:
    broker = statistics.broker
    if broker is None:
        return {}
    counts = {name: topic.published_total for name, topic in broker.topics.items()}
    return {name: count for name, count in sorted(counts.items()) if count}


def _load_speech_fixtures() -> None:
    for name in SPEECH_RECORDINGS:
        load_speech(name)


def _backends(statistics: RuntimeStatistics) -> list[dict[str, Any]]:
    rows = []
    for component in statistics.components.values():
        for backend in component.backends:
            rows.append(
                {
                    "component": component.name,
                    "stage": backend.stage,
                    "backend": backend.backend,
                    "circuit": backend.circuit,
                    "calls": backend.calls,
                    "failures": backend.failures,
                    "timeouts": backend.timeouts,
                    "rejected": backend.rejected,
                    "busy_seconds": round(backend.busy_seconds, 3),
                    "max_call_seconds": round(backend.max_call_seconds, 3),
                }
            )
    return rows


def _errors(messages: Mapping[str, int]) -> dict[str, int]:
    error_topics = {spec.name for spec in CATALOG.by_kind(TopicKind.ERROR)}
    return {name: count for name, count in messages.items() if name in error_topics}


async def run_session(
    settings: LoomliteSettings,
    *,
    virtual: bool,
    stop: anyio.Event | None = None,
    on_start: Callable[[Runtime, Clock, PersistComponent], None] | None = None,
) -> SessionReport:
    """Run the pipeline of ``settings`` and return what it produced.

    Raises ConfigurationError before anything starts when a backend that
    the settings name is unknown or its extra is not installed.
    ``virtual`` runs on a ManualClock driven as fast as the pipeline goes.
    ``settings.duration`` bounds the run in event time; without it the run
    lasts until ``stop`` is set. ``on_start`` receives the running runtime,
    for a live display.
    """
    stop = stop or anyio.Event()
    if settings.duration is None and virtual:
        raise ValueError("a run at --speed max needs a duration")
    # Before anything runs: a backend whose extra is missing would otherwise
    # fail only when its component starts, over and over as it restarts.
    check_profile_backends(settings)
    started = anyio.current_time()
    clock = session_clock(settings, virtual=virtual)
    start = clock.now()
    until = start + settings.duration if settings.duration else None

    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create state directory '{settings.state_dir}': "
            f"{exc.strerror or exc}; choose a writable path with --state-dir"
        ) from exc
    logger.info("preparing database %s", settings.db_url)
    await migrate.upgrade(settings.db_url)

    # The simulators decode the speech fixtures when they plan a day. That
    # takes 0.1-0.3 s of CPU, so it runs here in a thread, not on the loop.
    await anyio.to_thread.run_sync(_load_speech_fixtures)
    ai_backends, geocoder = await _load_model_backends(settings)
    _, devices = build_devices(settings, start)
    ingest = IngestComponent(devices, until=until, http=settings.http.enabled)
    producers = [
        ingest,
        AiComponent(ai_backends),
        EnrichComponent(geocoder),
        ExternalComponent(),
    ]
    # Only enabled components run, so persist subscribes only to their topics.
    enabled = [
        producer
        for producer in producers
        if settings.components.for_component(producer.name).enabled
    ]
    persist = persist_component(
        settings.db_url,
        CATALOG,
        topics=produced_topics(enabled, CATALOG),
        batch_size=settings.components.persist.batch_size,
        # In virtual time a batching delay would only stall each step: the
        # writer batches whatever accumulates while it commits anyway.
        max_delay=0.0 if virtual else settings.components.persist.flush_interval,
    )
    ingest.sink_source = persist.running_sink
    # Components start in this order. The sink opens its database before the
    # processing stages load their backends, so the devices' first messages
    # reach the database without waiting for them.
    components = [
        ingest,
        persist,
        *producers[1:],
        MonitorComponent(sink_statistics=persist.sink_statistics),
    ]
    report = SessionReport(start=start, end=start, database=settings.db_url)
    async with Runtime(settings, components=components, clock=clock) as runtime:
        # The graph is fixed once the runtime runs; a TUI attached from
        # another process reads it from this file.
        await anyio.to_thread.run_sync(
            write_topology_file, settings.state_dir, runtime.topology
        )
        if on_start is not None:
            on_start(runtime, clock, persist)
        await _advance(runtime, clock, until, stop, virtual=virtual)
        # Without this the simulators would go on emitting until 'until' (or
        # forever), so the flush below would wait on an endless input.
        ingest.stop_inputs()
        logger.info("inputs stopped at %s; flushing", clock.now().isoformat())
        await runtime.flush(timeout=_IDLE_TIMEOUT)
        statistics = runtime.statistics()
        sink = persist.sink_statistics()
        report.end = clock.now()
        report.messages = _messages_per_topic(statistics)
        report.errors = _errors(report.messages)
        report.backends = _backends(statistics)
        if statistics.loop_lag is not None:
            report.loop_lag_max_seconds = statistics.loop_lag.max_seconds
        if sink is not None:
            report.rows_written = dict(sink.rows_written)
        await runtime.stop()

    report.rows = await _count_rows(settings.db_url)
    regions = {region.name for region in settings.components.enrich.regions}
    report.steps, report.visits = await _read_scores(settings.db_url, devices, regions)
    report.truth = [device.truth.to_dict() for device in devices]
    report.real_seconds = anyio.current_time() - started
    return report


async def _load_model_backends(
    settings: LoomliteSettings,
) -> tuple[AiBackends | None, ReverseGeocoder | None]:
    """Load the backends that run real models, before the pipeline starts.

    Returns the ai backends when any ai stage runs a model, and the geocoder
    when it is one; None for the rest, which their components load at setup.
    Models take seconds to load, and some loaders hold the GIL throughout
    (the OCR engine builds its ONNX sessions in one call of about 0.3 s), so
    loading them once the pipeline runs would stall the event loop. Simulated
    backends load in milliseconds, and loading them at setup lets the first
    rows of a simulated run reach the database while they load.
    """
    chosen = model_backends(settings)
    if not chosen:
        return None, None
    listed = ", ".join(f"{stage}={name}" for stage, name in chosen)
    logger.info("loading model backends: %s", listed)
    began = anyio.current_time()
    ai_backends = geocoder = None
    if any(stage != "geocode" for stage, _ in chosen):
        ai_backends = await anyio.to_thread.run_sync(
            load_ai_backends, settings.components.ai
        )
    if any(stage == "geocode" for stage, _ in chosen):
        geocoder = await anyio.to_thread.run_sync(
            load_geocoder, settings.components.enrich
        )
    logger.info("model backends loaded in %.1f s", anyio.current_time() - began)
    return ai_backends, geocoder


async def _advance(
    runtime: Runtime,
    clock: Clock,
    until: datetime | None,
    stop: anyio.Event,
    *,
    virtual: bool,
) -> None:
    """Let event time pass until ``until`` or until ``stop`` is set."""
    if virtual:
        assert isinstance(clock, ManualClock) and until is not None
        await drive_virtual_time(runtime, clock, until, stop=stop)
        return
    async with anyio.create_task_group() as group:

        async def stop_at_end() -> None:
            if until is not None:
                await clock.sleep_until(until)
                # Give the simulators' last emissions at 'until' a moment.
                await runtime.run_until_idle(timeout=_IDLE_TIMEOUT)
            else:
                await anyio.sleep_forever()
            group.cancel_scope.cancel()

        async def stop_on_request() -> None:
            await stop.wait()
            group.cancel_scope.cancel()

        group.start_soon(stop_at_end)
        group.start_soon(stop_on_request)
