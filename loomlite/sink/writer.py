"""The batching sink: one writer task per database turns messages into rows.

``Sink.write`` queues a caller's rows and returns once the transaction that
contains them has committed, so a caller may commit its broker offsets right
after. The writer task collects the rows of concurrent callers until it has
``batch_size`` rows or the oldest has waited ``max_delay`` seconds, then
inserts them with one statement per table in one transaction. Inserts skip
rows whose natural key is already stored, so replaying messages is harmless.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
from anyio.abc import TaskGroup, TaskStatus
from sqlalchemy import Table, func, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from loomlite.clock import Clock, SystemClock
from loomlite.contract.envelope import Envelope
from loomlite.errors import ConfigurationError, LifecycleError, SinkError
from loomlite.sink.engine import (
    create_engine,
    database_url,
    describe_error,
    display_url,
)
from loomlite.sink.statements import IdempotentInsert
from loomlite.sink.tables import _default_catalog, build_metadata, row_from_message

if TYPE_CHECKING:
    from loomlite.contract.catalog import Catalog

__all__ = ["Sink", "SinkState", "SinkStatistics"]

logger = logging.getLogger(__name__)

Row = dict[str, Any]


class SinkState(enum.StrEnum):
    """The lifecycle state of a Sink."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SinkStatistics:
    """A snapshot of a sink's counters.

    ``rows_written`` counts inserted rows per table and ``rows_skipped`` the
    rows whose natural key was already stored. ``batches`` counts committed
    transactions, ``errors`` the write calls that failed, and
    ``pending_rows`` the rows queued or being written.
    """

    state: SinkState
    rows_written: Mapping[str, int]
    rows_skipped: Mapping[str, int]
    batches: int
    errors: int
    pending_rows: int
    last_write_at: datetime | None


@dataclass(eq=False)
class _Request:
    """The rows of one ``write`` call, waiting for their transaction."""

    table: Table
    rows: list[Row]
    queued_at: float
    done: anyio.Event = field(default_factory=anyio.Event)
    inserted: int = 0
    error: SinkError | None = None


class Sink:
    """Write topic messages to their catalog tables in batched transactions.

    ``url_or_engine`` is a database URL or path (the forms ``create_engine``
    accepts) or an AsyncEngine. The sink disposes an engine that it created
    when it closes and leaves a passed-in engine to its owner. ``clock`` only
    stamps ``last_write_at``. Batching delays use real time because they
    bound how long a row waits for the database. The schema must exist:
    ``loomlite.sink.migrate.upgrade`` creates it.

    Use the sink as an async context manager, which runs the writer task.
    """

    def __init__(
        self,
        url_or_engine: str | Path | AsyncEngine,
        catalog: Catalog | None = None,
        *,
        batch_size: int = 500,
        max_delay: float = 0.05,
        clock: Clock | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(
                f"batch_size must be at least 1, got {batch_size!r}"
            )
        if max_delay < 0:
            raise ConfigurationError(
                f"max_delay must be 0 seconds or more, got {max_delay!r}"
            )
        if not isinstance(url_or_engine, AsyncEngine):
            database_url(url_or_engine)  # reject a bad URL before entering
        self._source = url_or_engine
        self._catalog = catalog if catalog is not None else _default_catalog()
        self._metadata = build_metadata(self._catalog)
        self._batch_size = batch_size
        self._max_delay = max_delay
        self._clock = clock or SystemClock()
        self._state = SinkState.NEW
        self._engine: AsyncEngine | None = None
        self._task_group: TaskGroup | None = None
        self._inserts: dict[str, IdempotentInsert] = {}
        self._pending: deque[_Request] = deque()
        self._pending_rows = 0
        self._in_flight_rows = 0
        self._wake: anyio.Event | None = None
        self._rows_written: dict[str, int] = {}
        self._rows_skipped: dict[str, int] = {}
        self._batches = 0
        self._errors = 0
        self._last_write_at: datetime | None = None

    # -- lifecycle ---------------------------------------------------------

    @property
    def state(self) -> SinkState:
        return self._state

    @property
    def engine(self) -> AsyncEngine:
        """The engine the sink writes with; only while it runs."""
        self._require_running("use the engine")
        assert self._engine is not None
        return self._engine

    async def __aenter__(self) -> Self:
        if self._state is not SinkState.NEW:
            raise LifecycleError("sink", self._state.value, "start")
        self._state = SinkState.STARTING
        try:
            self._engine = self._open_engine()
            await self._check_connection(self._engine)
            self._wake = anyio.Event()
            self._task_group = anyio.create_task_group()
            await self._task_group.__aenter__()
        except BaseException:
            self._state = SinkState.CLOSED
            with anyio.CancelScope(shield=True):
                await self._dispose()
            raise
        await self._task_group.start(self._run_writer)
        self._state = SinkState.RUNNING
        logger.info("sink started on %s", display_url(self._engine.url))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task_group is not None
        self._state = SinkState.CLOSING
        self._notify_writer()
        try:
            # The body's exception is not handed to the task group, which would
            # wrap it in an ExceptionGroup and cancel the writer: after a
            # failure the writer still writes the rows that callers wait for.
            # A cancelled body cancels the writer through the outer scope.
            await self._task_group.__aexit__(None, None, None)
        finally:
            # Rows queued when the writer was cancelled still belong to waiting
            # callers, so they are written here, shielded from cancellation.
            with anyio.CancelScope(shield=True):
                await self._drain()
                await self._dispose()
            self._state = SinkState.CLOSED
            logger.info("sink closed")

    def _open_engine(self) -> AsyncEngine:
        if isinstance(self._source, AsyncEngine):
            engine = self._source
        else:
            engine = create_engine(self._source)
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ConfigurationError(
                f"the sink writes to SQLite or Postgres, not {engine.dialect.name!r}"
            )
        return engine

    async def _check_connection(self, engine: AsyncEngine) -> None:
        try:
            async with engine.connect() as connection:
                await connection.execute(select(literal(1)))
        except (SQLAlchemyError, OSError) as exc:
            raise SinkError(
                f"cannot connect to the database {display_url(engine.url)!r}: "
                f"{describe_error(exc)}"
            ) from exc

    async def _dispose(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None and not isinstance(self._source, AsyncEngine):
            await engine.dispose()

    def _require_running(self, action: str) -> None:
        if self._state is not SinkState.RUNNING:
            raise LifecycleError("sink", self._state.value, action)

    # -- writing -------------------------------------------------------------

    async def write(self, topic: str, messages: Sequence[Envelope]) -> int:
        """Store ``messages`` of ``topic`` and return how many rows were inserted.

        Returns after the transaction that contains the rows has committed. Messages
        whose natural key is already stored are skipped and not counted. A
        caller cancelled while it waits leaves its rows queued, and they are
        still written.

        Raises SinkError naming the table when the rows cannot be written or
        the topic is not stored, ContractError for an unknown topic or a
        message of the wrong model, and LifecycleError unless the sink runs.
        """
        self._require_running("write")
        spec = self._catalog.get(topic)
        table = self._table_of(spec.name)
        rows = [row_from_message(spec, message) for message in messages]
        if not rows:
            return 0
        request = _Request(table, rows, anyio.current_time())
        self._pending.append(request)
        self._pending_rows += len(rows)
        self._notify_writer()
        await request.done.wait()
        if request.error is not None:
            raise request.error
        return request.inserted

    def _table_of(self, topic: str) -> Table:
        spec = self._catalog.get(topic)
        if spec.table is None:
            raise SinkError(
                f"topic {spec.name!r} is not stored in the database: "
                f"{spec.not_persisted_reason}"
            )
        return self._metadata.tables[spec.table.name]

    def _notify_writer(self) -> None:
        if self._wake is not None:
            self._wake.set()
            self._wake = anyio.Event()

    async def _run_writer(self, *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        while True:
            await self._wait_for_batch()
            if not self._pending:
                return  # closing with nothing left to write
            batch = self._take_batch()
            # A flush runs to its end even when the sink is cancelled: its rows
            # have left the queue, and a half-finished transaction would leave
            # its connection neither committed nor returned to the pool.
            with anyio.CancelScope(shield=True):
                await self._flush(batch)

    async def _wait_for_batch(self) -> None:
        # The writer starts while the sink is STARTING and stops waiting once
        # it is CLOSING, when every queued row is written at once.
        while self._state in (SinkState.STARTING, SinkState.RUNNING):
            if self._pending_rows >= self._batch_size:
                return
            assert self._wake is not None
            wake = self._wake
            if not self._pending:
                await wake.wait()
                continue
            deadline = self._pending[0].queued_at + self._max_delay
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return
            with anyio.move_on_after(remaining):
                await wake.wait()

    def _take_batch(self) -> list[_Request]:
        batch = [self._pending.popleft()]
        rows = len(batch[0].rows)
        while self._pending and rows + len(self._pending[0].rows) <= self._batch_size:
            request = self._pending.popleft()
            batch.append(request)
            rows += len(request.rows)
        self._pending_rows -= rows
        self._in_flight_rows += rows
        return batch

    async def _drain(self) -> None:
        while self._pending:
            await self._flush(self._take_batch())

    async def _flush(self, batch: list[_Request]) -> None:
        try:
            await self._insert(batch)
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch[0], exc)
            else:
                logger.warning(
                    "a batch of %d write calls failed (%s); retrying each call "
                    "in its own transaction",
                    len(batch),
                    describe_error(exc),
                )
                await self._retry_each(batch)
        finally:
            self._in_flight_rows -= sum(len(request.rows) for request in batch)
            for request in batch:
                request.done.set()

    async def _retry_each(self, batch: list[_Request]) -> None:
        for request in batch:
            try:
                await self._insert([request])
            except Exception as exc:
                self._fail(request, exc)

    async def _insert(self, batch: list[_Request]) -> None:
        """Insert every request of ``batch`` in one transaction."""
        engine = self._engine
        assert engine is not None
        async with engine.begin() as connection:
            counts = [
                await self._insert_for(request.table).execute(connection, request.rows)
                for request in batch
            ]
        self._batches += 1
        self._last_write_at = self._clock.now()
        for request, inserted in zip(batch, counts, strict=True):
            self._record(request, inserted)

    def _insert_for(self, table: Table) -> IdempotentInsert:
        insert = self._inserts.get(table.name)
        if insert is None:
            assert self._engine is not None
            insert = IdempotentInsert(table, self._engine.dialect)
            self._inserts[table.name] = insert
        return insert

    def _record(self, request: _Request, inserted: int) -> None:
        table = request.table.name
        request.inserted = inserted
        skipped = len(request.rows) - inserted
        self._rows_written[table] = self._rows_written.get(table, 0) + inserted
        self._rows_skipped[table] = self._rows_skipped.get(table, 0) + skipped

    def _fail(self, request: _Request, exc: Exception) -> None:
        table = request.table.name
        reason = describe_error(exc)
        self._errors += 1
        logger.error(
            "writing %d rows to table %s failed: %s", len(request.rows), table, reason
        )
        error = SinkError(
            f"writing {len(request.rows)} rows to table {table!r} failed: {reason}",
            table=table,
        )
        error.__cause__ = exc
        request.error = error

    # -- reading and statistics ---------------------------------------------

    def statistics(self) -> SinkStatistics:
        """Return a snapshot of the sink's counters."""
        return SinkStatistics(
            state=self._state,
            rows_written=dict(self._rows_written),
            rows_skipped=dict(self._rows_skipped),
            batches=self._batches,
            errors=self._errors,
            pending_rows=self._pending_rows + self._in_flight_rows,
            last_write_at=self._last_write_at,
        )

    def table(self, topic_or_table: str) -> Table:
        """Return the table of a topic (name or alias) or a table by name."""
        tables = self._metadata.tables
        if topic_or_table in tables:
            return tables[topic_or_table]
        return self._table_of(topic_or_table)

    async def count(self, topic_or_table: str) -> int:
        """Return the number of rows stored for a topic or in a table."""
        self._require_running("count rows")
        table = self.table(topic_or_table)
        query = select(func.count()).select_from(table)
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def rows(
        self,
        topic: str,
        *,
        limit: int | None = 100,
        where: Mapping[str, Any] | None = None,
    ) -> list[Row]:
        """Return stored rows of a topic in insertion order.

        ``where`` maps column names to values that the rows must equal.
        """
        self._require_running("read rows")
        table = self.table(topic)
        query = select(table).order_by(table.c.id).limit(limit)
        for name, value in (where or {}).items():
            if name not in table.c:
                raise SinkError(
                    f"table {table.name!r} has no column {name!r}; its columns "
                    f"are {', '.join(table.c.keys())}",
                    table=table.name,
                )
            query = query.where(table.c[name] == value)
        async with self.engine.connect() as connection:
            result = await connection.execute(query)
            return [dict(row) for row in result.mappings()]
