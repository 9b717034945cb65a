"""The test pipeline: a Runtime on a manual clock with helpers for assertions."""

from __future__ import annotations

import inspect
import logging
import math
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from unittest.mock import AsyncMock

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from loomlite.broker.base import Broker, Record
from loomlite.broker.factory import DURABLE_FILE_NAME
from loomlite.clock import ManualClock
from loomlite.contract import CATALOG, decode, normalise
from loomlite.contract.catalog import Catalog
from loomlite.contract.envelope import Envelope
from loomlite.errors import ConfigurationError, FieldError, MessageValidationError
from loomlite.runtime.component import Component
from loomlite.runtime.profiles import load_settings
from loomlite.runtime.runtime import Runtime, RuntimeStatistics, SinkFactory
from loomlite.runtime.settings import LoomliteSettings
from loomlite.runtime.topology import Topology
from loomlite.sink import create_engine
from loomlite.testing._components import build_components
from loomlite.testing._database import create_schema, read_rows
from loomlite.testing._logs import LogCapture
from loomlite.testing._recording import (
    RecordingDurableBroker,
    RecordingMemoryBroker,
    published_records,
)

__all__ = ["BROKER_KINDS", "Pipeline", "pipeline"]

logger = logging.getLogger(__name__)

BROKER_KINDS = ("memory", "durable")
"""Broker kinds a test pipeline can run on."""

DEFAULT_PROFILE = "ci"

# Virtual time starts here unless the settings or the test set a start.
DEFAULT_START = datetime.fromisoformat("2025-06-02T07:00:00+00:00")


class Pipeline:
    """A running pipeline for one test; build it with ``pipeline(...)``.

    Time moves only when the test calls ``advance``, ``set_time`` or
    ``run_for``, because the runtime runs on a ManualClock. Every record
    published while the pipeline runs is kept, so ``messages`` still works
    after the pipeline has stopped and drained.
    """

    def __init__(
        self,
        settings: LoomliteSettings,
        components: Sequence[Component],
        *,
        broker: Broker,
        clock: ManualClock,
        catalog: Catalog,
        inputs: Iterable[str],
        db_url: str | None,
        observe_handlers: bool,
        log_level: int,
        idle_timeout: float,
        sink_factory: SinkFactory | None = None,
        sqlite_file: Path | None = None,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.components = tuple(components)
        self.clock = clock
        self.catalog = catalog
        self.db_url = db_url
        self.logs = LogCapture(level=log_level)
        self.idle_timeout = idle_timeout
        self._broker = broker
        self._cleanup = cleanup
        self._state_removed = False
        self._mocks: dict[tuple[str, str], AsyncMock] = {}
        self._engine: AsyncEngine | None = None
        self._sqlite_file = sqlite_file
        self._consumers = Topology.from_components(self.components, catalog).consumers()
        if observe_handlers:
            for component in self.components:
                self._observe(component)
        self.runtime = Runtime(
            settings,
            components=self.components,
            broker=broker,
            clock=clock,
            catalog=catalog,
            inputs=inputs,
            sink_factory=sink_factory,
        )

    # -- lifecycle ----------------------------------------------------------

    async def __aenter__(self) -> Self:
        self.logs.start()
        try:
            if self.db_url is not None:
                await create_schema(self.db_url, self._sqlite_file)
            await self.runtime.__aenter__()
        except BaseException:
            self.logs.stop()
            self._remove_state()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.runtime.__aexit__(exc_type, exc, tb)
        finally:
            try:
                engine, self._engine = self._engine, None
                if engine is not None:
                    # Shielded: in a cancelled scope, closing the pooled
                    # aiosqlite connection would raise and skip the cleanup.
                    with anyio.CancelScope(shield=True):
                        await engine.dispose()
            finally:
                self.logs.stop()
                self._remove_state()

    async def stop(self) -> None:
        """Drain every component and close the sink and broker, as an exit does."""
        await self.runtime.stop()

    def _remove_state(self) -> None:
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup()
            self._state_removed = True

    # -- properties ---------------------------------------------------------

    @property
    def broker(self) -> Broker:
        return self._broker

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir

    def statistics(self) -> RuntimeStatistics:
        """Return the runtime's snapshot of the broker and every component."""
        return self.runtime.statistics()

    def component(self, name: str) -> Component:
        """Return the component called ``name``; raise KeyError listing the names."""
        for component in self.components:
            if component.name == name:
                return component
        known = ", ".join(repr(c.name) for c in self.components)
        raise KeyError(f"no component {name!r} in this pipeline; it has {known}")

    # -- input --------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: Envelope | Mapping[str, Any],
        *,
        received_at: datetime | None = None,
    ) -> Record:
        """Publish one message to ``topic`` (a canonical name or an alias).

        ``payload`` is a model instance, or a dict in any shape the ingestion
        API accepts (flat or nested, with field aliases). A dict without
        ``recorded_at`` gets the clock's time, and one without ``trace_id``
        starts a trace named after its ``message_id``, as the intake does.
        Raises MessageValidationError naming each invalid field, and
        ConfigurationError when the pipeline has a persist component but no
        component consumes ``topic``, because the message would not be stored.
        """
        spec = self.catalog.get(topic)
        self._require_consumer(spec.name)
        moment = received_at or self.clock.now()
        if isinstance(payload, Envelope):
            message = payload
        else:
            message = self._normalise(spec.name, payload, moment)
        metadata = await self.runtime.publish(spec.name, message)
        records = published_records(self._broker, spec.name)
        for record in reversed(records):
            if (record.partition, record.offset) == (
                metadata.partition,
                metadata.offset,
            ):
                return record
        raise AssertionError(f"the broker did not record the publish to {spec.name}")

    def _require_consumer(self, topic: str) -> None:
        """Raise when the pipeline stores rows but would drop this message.

        Without a persist component, publishing to a topic that nothing
        consumes is allowed: the monitor, for one, only counts the records.
        """
        if topic in self._consumers:
            return
        if self.catalog.get(topic).table is None:
            return
        if not any(c.name == "persist" for c in self.components):
            return
        names = ", ".join(repr(c.name) for c in self.components)
        raise ConfigurationError(
            f"cannot publish to {topic!r}: no component in this pipeline "
            f"({names}) consumes it, so persist would not store it. Add the "
            f"component that publishes {topic!r}, or pass inputs=[{topic!r}] "
            "to pipeline() so that persist subscribes to it",
            key="components",
        )

    def _normalise(
        self, topic: str, payload: Mapping[str, Any], moment: datetime
    ) -> Envelope:
        if not isinstance(payload, Mapping):
            raise MessageValidationError(
                topic,
                [FieldError("", "expected a JSON object", type(payload).__name__)],
            )
        values = dict(payload)
        has_time = "recorded_at" in values or "timestamp" in values
        nested = values.get("metadata")
        if isinstance(nested, Mapping):
            has_time = has_time or "recorded_at" in nested or "timestamp" in nested
        if not has_time:
            values["recorded_at"] = self.clock.now().isoformat()
        message = normalise(topic, values, received_at=moment, catalog=self.catalog)
        if not values.get("trace_id"):
            message = message.model_copy(update={"trace_id": message.message_id})
        return message

    # -- time ---------------------------------------------------------------

    async def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock forward by ``delta`` (seconds or a timedelta), then
        run until idle, so that every timer due in between has fired."""
        return await self.set_time(self.clock.now() + _as_timedelta(delta))

    async def set_time(self, moment: datetime) -> datetime:
        """Move the clock to ``moment`` deadline by deadline, running until
        idle after each step, so sleepers wake in event-time order.

        Raises ValueError when ``moment`` is naive or earlier than now.
        """
        now = self.clock.now()
        if moment.tzinfo is None:
            raise ValueError(f"moment must be timezone-aware, got naive {moment!r}")
        if moment < now:
            raise ValueError(
                f"a clock cannot move backwards from {now.isoformat()} "
                f"to {moment.isoformat()}"
            )
        while True:
            deadline = self.clock.next_deadline
            if deadline is None or deadline > moment:
                break
            self.clock.set(deadline)
            await self.run_until_idle()
        if self.clock.now() < moment:
            self.clock.set(moment)
        await self.run_until_idle()
        return self.clock.now()

    async def run_for(self, duration: timedelta | float) -> datetime:
        """Let ``duration`` of event time pass as fast as the pipeline goes.

        The clock jumps from one sleeper's deadline to the next (simulators,
        fetchers, timers), waiting until idle at each, as ``loomlite up
        --speed max`` does. Held windows stay open: call ``flush`` after.
        """
        from loomlite.runtime.virtual_time import drive_virtual_time

        until = self.clock.now() + _as_timedelta(duration)
        await drive_virtual_time(
            self.runtime, self.clock, until, idle_timeout=self.idle_timeout
        )
        if self.clock.now() < until:
            self.clock.set(until)
        await self.run_until_idle()
        return self.clock.now()

    # -- waiting ------------------------------------------------------------

    async def run_until_idle(self, timeout: float | None = None) -> None:
        """Wait until every queue is drained, every handler is done and every
        row is committed. Raise TimeoutError naming what is still busy.

        The persist component returns from its handler only after the sink
        committed the rows, so an idle pipeline has committed them all.
        Windows that components hold open (speech segments, step windows)
        stay open: call ``flush`` to publish them.
        """
        timeout = timeout or self.idle_timeout
        try:
            with anyio.fail_after(timeout):
                while True:
                    # A timer that the clock just woke, or a simulator,
                    # publishes from its own task, so every task runs to its
                    # next wait first.
                    published = self._published_total()
                    await anyio.wait_all_tasks_blocked()
                    await self.runtime.run_until_idle(timeout)
                    await anyio.wait_all_tasks_blocked()
                    if self._published_total() == published:
                        return
        except TimeoutError:
            reasons = await self.runtime.busy_reasons()
            busy = "; ".join(reasons) or "tasks kept publishing or never blocked"
            raise TimeoutError(
                f"the pipeline was not idle after {timeout} s: {busy}"
            ) from None

    def _published_total(self) -> int:
        return sum(len(records) for records in self._published().values())

    def _published(self) -> Mapping[str, list[Record]]:
        return self._broker.published  # type: ignore[attr-defined, no-any-return]

    async def flush(self, timeout: float | None = None) -> None:
        """Let every component publish the windows it holds, then run until idle."""
        await self.runtime.flush(timeout or self.idle_timeout)

    async def wait_for(
        self,
        condition: Callable[[], bool | Awaitable[bool]],
        timeout: float = 10.0,
    ) -> None:
        """Wait until ``condition()`` is true, checking it after each handled
        record or component state change. Raise TimeoutError after
        ``timeout`` real seconds."""
        try:
            with anyio.fail_after(timeout):
                while not await _evaluate(condition):
                    await self.runtime.wait_for_activity(timeout)
        except TimeoutError:
            name = getattr(condition, "__name__", repr(condition))
            raise TimeoutError(
                f"condition {name} was still false after {timeout} s"
            ) from None

    # -- reading ------------------------------------------------------------

    def records(self, topic: str) -> list[Record]:
        """Return every record published to ``topic`` so far, in publish order."""
        return published_records(self._broker, self.catalog.resolve(topic))

    def messages(self, topic: str) -> list[Any]:
        """Return every message published to ``topic`` so far, decoded."""
        spec = self.catalog.get(topic)
        return [decode(spec, record.value) for record in self.records(spec.name)]

    async def rows(
        self, table: str, *, order_by: str | Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Return the committed rows of ``table`` (a table or a topic name) as
        dicts, ordered by ``order_by`` or by the table's time column."""
        if self.db_url is None:
            raise ConfigurationError(
                "this pipeline has no database; build it with db='sqlite' or a URL"
            )
        if self._state_removed and self._sqlite_file is not None:
            raise ConfigurationError(
                "the pipeline removed its temporary state directory "
                f"{str(self.state_dir)!r}, and the database in it, on exit; read "
                "rows inside the 'async with' block, or pass state_dir= to keep "
                "the database"
            )
        if self._engine is None:
            self._engine = create_engine(self.db_url)
        return await read_rows(self._engine, table, self.catalog, order_by=order_by)

    # -- mocks --------------------------------------------------------------

    def handler(self, component: str, handler: str) -> AsyncMock:
        """Return the mock around ``component``'s handler method ``handler``.

        The mock calls the real handler, and records each call's arguments
        in ``call_args_list`` (the message or batch, then the context).
        """
        try:
            return self._mocks[(component, handler)]
        except KeyError:
            known = ", ".join(f"{c}.{h}" for c, h in sorted(self._mocks))
            raise KeyError(
                f"no observed handler {component}.{handler}; observed handlers: "
                f"{known or 'none (build the pipeline with observe_handlers=True)'}"
            ) from None

    def _observe(self, component: Component) -> None:
        for subscription in component.subscriptions:
            key = (component.name, subscription.handler)
            if key in self._mocks:
                continue
            method = getattr(component, subscription.handler)
            mock = AsyncMock(wraps=method, name=f"{component.name}.{key[1]}")
            # The dispatcher looks the handler up on the instance at each call.
            setattr(component, subscription.handler, mock)
            self._mocks[key] = mock


def pipeline(
    profile: str | Path | None = None,
    *,
    components: Iterable[Component | str] | None = None,
    broker: str = "memory",
    db: str | Path | None = "sqlite",
    settings: LoomliteSettings | None = None,
    start: datetime | None = None,
    clock: ManualClock | None = None,
    state_dir: str | Path | None = None,
    catalog: Catalog | None = None,
    inputs: Iterable[str] = (),
    simulate: bool = False,
    observe_handlers: bool = True,
    log_level: int = logging.INFO,
    idle_timeout: float = 60.0,
    sink_factory: SinkFactory | None = None,
    **overrides: Any,
) -> Pipeline:
    """Build a test pipeline; use it with ``async with``.

    ``profile`` names the settings profile (default ``ci``) and
    ``overrides`` replace its keys, as in ``load_settings``; ``settings``
    replaces both. ``components`` lists component instances or the names
    ``ingest``, ``ai``, ``enrich``, ``external``, ``persist`` and
    ``monitor``; the default is ingest, ai, enrich and persist. ``broker`` is
    ``memory`` or ``durable`` (a SQLite log in the state directory). ``db``
    is ``sqlite`` (a file in the state directory), a database URL, or None
    for no persist component. Without ``state_dir``, or a ``state_dir`` that
    ``settings`` sets, a temporary directory is used and removed on exit.
    ``clock`` lets several pipelines share one manual clock; otherwise a new
    one starts at ``start``, the settings' start or DEFAULT_START.
    ``simulate`` runs the profile's simulated devices in the ingest
    component. ``sink_factory`` goes to the Runtime unchanged.
    """
    if broker not in BROKER_KINDS:
        raise ConfigurationError(
            f"invalid test broker {broker!r}: expected one of "
            f"{', '.join(BROKER_KINDS)}",
            key="broker",
        )
    cleanup = None
    if (
        state_dir is None
        and settings is not None
        and "state_dir" in settings.model_fields_set
    ):
        state_dir = settings.state_dir
    if state_dir is None:
        state_dir = Path(tempfile.mkdtemp(prefix="loomlite-test-"))
        cleanup = _remover(state_dir)
    state_path = Path(state_dir)
    if not state_path.exists():
        state_path.mkdir(parents=True)
    try:
        if settings is None:
            settings = load_settings(
                profile or DEFAULT_PROFILE, state_dir=state_path, **overrides
            )
        db_url = _database_url(db, settings, state_path)
        settings = settings.model_copy(
            update={"state_dir": state_path, "db_url": db_url or settings.db_url}
        )
        catalog = catalog or CATALOG
        if clock is None:
            clock = ManualClock(start or settings.start or DEFAULT_START)
        built = build_components(
            components,
            settings,
            catalog,
            clock=clock,
            db_url=db_url,
            simulate=simulate,
            inputs=inputs,
        )
        test_broker: Broker
        if broker == "durable":
            # NORMAL survives a crash of the process but not a power loss, which
            # a test never needs, and saves a disk sync per publish.
            test_broker = RecordingDurableBroker(
                state_path / DURABLE_FILE_NAME, clock, synchronous="NORMAL"
            )
        else:
            test_broker = RecordingMemoryBroker(clock)
        return Pipeline(
            settings,
            built,
            broker=test_broker,
            clock=clock,
            catalog=catalog,
            inputs=external_inputs(built, catalog, inputs),
            db_url=db_url,
            observe_handlers=observe_handlers,
            log_level=log_level,
            idle_timeout=idle_timeout,
            sink_factory=sink_factory,
            sqlite_file=_new_sqlite_file(db, settings, state_path),
            cleanup=cleanup,
        )
    except BaseException:
        # An invalid profile or component name must not leave the temporary
        # directory behind.
        if cleanup is not None:
            cleanup()
        raise


def external_inputs(
    components: Sequence[Component], catalog: Catalog, extra: Iterable[str] = ()
) -> tuple[str, ...]:
    """Return the topics the components consume but none of them publishes,
    so that the test publishes them, plus ``extra``."""
    topology = Topology.from_components(components, catalog)
    produced = topology.producers()
    consumed = topology.consumers()
    names = {topic for topic in consumed if topic not in produced}
    names.update(catalog.resolve(name) for name in extra)
    return tuple(sorted(names))


def _database_url(
    db: str | Path | None, settings: LoomliteSettings, state_dir: Path
) -> str | None:
    if db is None:
        return None
    if db != "sqlite":
        return str(db)
    if _has_own_db_url(settings):
        return settings.db_url
    return f"sqlite:///{state_dir.as_posix()}/loomlite.db"


def _has_own_db_url(settings: LoomliteSettings) -> bool:
    """Return whether ``settings.db_url`` differs from its state_dir's file."""
    implied = f"sqlite:///{settings.state_dir.as_posix()}/loomlite.db"
    return bool(settings.db_url) and settings.db_url != implied


def _new_sqlite_file(
    db: str | Path | None, settings: LoomliteSettings, state_dir: Path
) -> Path | None:
    """Return the SQLite file that ``db="sqlite"`` creates, or None."""
    if db != "sqlite" or _has_own_db_url(settings):
        return None
    return state_dir / "loomlite.db"


def _remover(path: Path) -> Callable[[], None]:
    def remove() -> None:
        shutil.rmtree(path, ignore_errors=True)

    return remove


def _as_timedelta(delta: timedelta | float) -> timedelta:
    if isinstance(delta, timedelta):
        return delta
    if not math.isfinite(delta):
        raise ValueError(
            f"invalid delta {delta!r}: expected a finite number of seconds"
        )
    return timedelta(seconds=delta)


async def _evaluate(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
