"""The batching sink: callers take turns flushing queued rows in group commits.

``Sink.write`` queues a caller's rows and returns once the transaction that
contains them has committed, so a caller may commit its broker offsets right
after. There is no writer task, and only one flush runs at a time per sink. A
caller that finds no flush running becomes the flusher. It waits until the
queue contains ``batch_size`` rows or the oldest queued row has waited
``max_delay`` seconds. Then it takes up to ``batch_size`` rows, or one larger
call whole, and writes them in one transaction with one INSERT per call, so
each caller gets its own count. Callers that arrive during a flush queue their
rows for the next transaction (group commit). The flusher repeats until its
own rows are written, then hands the role to the oldest caller still waiting.

When a transaction fails, each of its calls is retried in a transaction of
its own, so a bad row fails only its own caller. Inserts skip rows whose
natural key is already stored, so replaying messages is harmless.

Because no task outlives a ``write`` call, the sink may be started in one task
or cancel scope and closed in another, for example in a component's
``teardown`` under a shielded cancel scope.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.lowlevel
import anyio.to_thread
from sqlalchemy import URL, Dialect, Table, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from loomlite.clock import Clock, SystemClock
from loomlite.contract.envelope import Envelope
from loomlite.errors import ConfigurationError, LifecycleError, SinkError
from loomlite.sink.direct import DirectWriter, direct_path
from loomlite.sink.engine import (
    create_engine,
    database_url,
    describe_error,
    describe_sqlite_open_error,
    display_url,
    is_async_engine,
)
from loomlite.sink.statements import IdempotentInsert
from loomlite.sink.tables import _default_catalog, build_metadata, row_from_message

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

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
    """The rows of one ``write`` call, waiting for their transaction.

    ``wake`` is set when the request is finished or when its caller should
    try to become the flusher. ``waiting`` is false once the caller has
    returned or has been cancelled.
    """

    table: Table
    rows: list[Row]
    queued_at: float
    wake: anyio.Event = field(default_factory=anyio.Event)
    waiting: bool = True
    finished: bool = False
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

    Open the sink with ``start`` and close it with ``close``, or use it as an
    async context manager. The two calls may run in different tasks and
    cancel scopes.

    A sink that opens a SQLite file itself writes through a sqlite3
    connection of its own, one worker-thread call per transaction (see
    ``loomlite.sink.direct``), and reads through the engine. A passed-in
    engine, an in-memory database and Postgres take every statement through
    the engine, so that the engine's events and options apply.
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
        if not is_async_engine(url_or_engine):
            database_url(url_or_engine)  # reject a bad URL before starting
        self._source = url_or_engine
        self._catalog = catalog if catalog is not None else _default_catalog()
        self._metadata = build_metadata(self._catalog)
        self._batch_size = batch_size
        self._max_delay = max_delay
        self._clock = clock or SystemClock()
        self._state = SinkState.NEW
        self._engine: AsyncEngine | None = None
        self._dialect: Dialect | None = None
        self._direct: DirectWriter | None = None
        self._inserts: dict[str, IdempotentInsert] = {}
        # Held by the flusher, and by ``close`` while it writes what is left.
        self._flush_lock = anyio.Lock()
        self._pending: deque[_Request] = deque()
        self._pending_rows = 0
        self._in_flight_rows = 0
        # Set to end the flusher's wait early: the batch is full or the sink
        # is closing.
        self._batch_ready = anyio.Event()
        self._closed = anyio.Event()
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
        """The engine the sink reads with, and writes with unless it writes
        SQLite through its own connection; only while it runs."""
        self._require_running("use the engine")
        if self._engine is None:
            self._engine = create_engine(self._source_url())
        return self._engine

    async def start(self) -> None:
        """Open the sink's connection to the database and check it.

        Raises SinkError when the database cannot be reached and
        LifecycleError unless the sink is new. After a failed start the sink
        is closed.
        """
        if self._state is not SinkState.NEW:
            raise LifecycleError("sink", self._state.value, "start")
        self._state = SinkState.STARTING
        try:
            await self._open()
        except BaseException:
            self._state = SinkState.CLOSED
            self._closed.set()
            with anyio.CancelScope(shield=True):
                await self._dispose()
            raise
        self._state = SinkState.RUNNING
        url = self._source.url if is_async_engine(self._source) else self._source_url()
        logger.info("sink started on %s", display_url(url))

    async def close(self) -> None:
        """Write every queued row, then dispose the engine the sink created.

        Runs to its end even in a cancelled scope, because callers still wait
        for the queued rows. A flush that is running finishes first. Closing
        a closed sink does nothing, and a second concurrent call waits for
        the first. Raises LifecycleError while the sink is starting.
        """
        if self._state is SinkState.STARTING:
            raise LifecycleError("sink", self._state.value, "close")
        if self._state is SinkState.CLOSING:
            with anyio.CancelScope(shield=True):
                await self._closed.wait()
            return
        if self._state in (SinkState.NEW, SinkState.CLOSED):
            self._state = SinkState.CLOSED
            self._closed.set()
            return
        self._state = SinkState.CLOSING
        self._batch_ready.set()
        # NOTE: the shield also ignores the deadline of an enclosing scope, so
        # close waits as long as the database takes to respond.
        with anyio.CancelScope(shield=True):
            try:
                async with self._flush_lock:
                    await self._write_pending()
            finally:
                await self._dispose()
                self._state = SinkState.CLOSED
                self._closed.set()
                logger.info("sink closed")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _open(self) -> None:
        """Open the sink's own SQLite connection, or the engine it writes with.

        A SQLite file needs no engine to be written: opening it checks it,
        and the engine is created at the first read. That saves importing
        SQLAlchemy's asyncio extension and starting aiosqlite's thread
        before the first rows are written.
        """
        if is_async_engine(self._source):
            engine = self._source
        else:
            url = self._source_url()
            _check_backend(url.get_backend_name())
            path = direct_path(url)
            if path is not None:
                await self._open_direct(path)
                self._dialect = url.get_dialect()()
                return
            engine = self._engine = create_engine(url)
        _check_backend(engine.dialect.name)
        await self._check_connection(engine)
        self._engine = engine
        self._dialect = engine.dialect

    def _source_url(self) -> URL:
        assert not is_async_engine(self._source)
        return database_url(self._source)

    async def _check_connection(self, engine: AsyncEngine) -> None:
        try:
            async with engine.connect() as connection:
                await connection.execute(select(literal(1)))
        except (SQLAlchemyError, OSError) as exc:
            raise SinkError(
                f"cannot connect to the database {display_url(engine.url)!r}: "
                f"{describe_error(exc)}"
            ) from exc

    async def _open_direct(self, path: Path) -> None:
        writer = DirectWriter(path)
        try:
            await anyio.to_thread.run_sync(writer.open)
        except (sqlite3.Error, OSError) as exc:
            raise SinkError(
                f"cannot open the SQLite database {str(path)!r} for writing: "
                f"{describe_sqlite_open_error(exc, path)}"
            ) from exc
        self._direct = writer

    async def _dispose(self) -> None:
        direct, self._direct = self._direct, None
        if direct is not None:
            await anyio.to_thread.run_sync(direct.close)
        engine, self._engine = self._engine, None
        if engine is not None and not is_async_engine(self._source):
            await engine.dispose()

    def _require_running(self, action: str) -> None:
        if self._state is not SinkState.RUNNING:
            raise LifecycleError("sink", self._state.value, action)

    # -- writing -------------------------------------------------------------

    async def write(self, topic: str, messages: Sequence[Envelope]) -> int:
        """Store ``messages`` of ``topic`` and return how many rows were inserted.

        Returns after the transaction that contains the rows has committed.
        Messages whose natural key is already stored are skipped and not
        counted. The caller may flush other callers' rows too while it waits.
        A caller cancelled while it waits leaves its rows queued, and the next
        flush or ``close`` writes them.

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
        if self._pending_rows >= self._batch_size:
            self._batch_ready.set()
        await self._wait_until_finished(request)
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

    async def _wait_until_finished(self, request: _Request) -> None:
        """Wait for ``request``, flushing batches whenever no flush runs."""
        try:
            while not request.finished:
                try:
                    self._flush_lock.acquire_nowait()
                except anyio.WouldBlock:
                    # A flusher runs, or ``close`` writes what is left. Either
                    # finishes this request or wakes it to take over.
                    request.wake = anyio.Event()
                    await request.wake.wait()
                    continue
                try:
                    await self._flush_until_finished(request)
                finally:
                    self._flush_lock.release()
        finally:
            request.waiting = False
            self._hand_over()

    async def _flush_until_finished(self, request: _Request) -> None:
        # The queue is first in, first out and only the lock holder takes
        # from it, so ``request`` stays queued until one of these batches.
        while not request.finished:
            await self._wait_for_batch()
            batch = self._take_batch()
            # A flush runs to its end even when its caller is cancelled: its
            # rows have left the queue and belong to other callers too, and a
            # half-finished transaction would leave its connection neither
            # committed nor returned to the pool.
            with anyio.CancelScope(shield=True):
                await self._flush(batch)

    def _hand_over(self) -> None:
        """Wake the oldest waiting caller to flush, unless a flush runs."""
        if self._flush_lock.locked():
            return
        for request in self._pending:
            if request.waiting:
                request.wake.set()
                return

    async def _wait_for_batch(self) -> None:
        """Wait until the batch is full, the oldest row has waited
        ``max_delay`` seconds or the sink is closing."""
        if self._pending_rows < self._batch_size:
            # One pass of the event loop lets callers that are already
            # runnable queue their rows, so they join this batch even when
            # max_delay is 0.
            await anyio.lowlevel.checkpoint()
        while self._state is SinkState.RUNNING:
            if self._pending_rows >= self._batch_size:
                return
            deadline = self._pending[0].queued_at + self._max_delay
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return
            self._batch_ready = anyio.Event()
            with anyio.move_on_after(remaining):
                await self._batch_ready.wait()

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

    async def _write_pending(self) -> None:
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
                request.finished = True
                request.wake.set()

    async def _retry_each(self, batch: list[_Request]) -> None:
        for request in batch:
            try:
                await self._insert([request])
            except Exception as exc:
                self._fail(request, exc)

    async def _insert(self, batch: list[_Request]) -> None:
        """Insert every request of ``batch`` in one transaction."""
        if self._direct is not None:
            counts = await self._insert_direct(self._direct, batch)
        else:
            engine = self._engine
            assert engine is not None
            async with engine.begin() as connection:
                counts = [
                    await self._insert_for(request.table).execute(
                        connection, request.rows
                    )
                    for request in batch
                ]
        self._batches += 1
        self._last_write_at = self._clock.now()
        for request, inserted in zip(batch, counts, strict=True):
            self._record(request, inserted)

    async def _insert_direct(
        self, direct: DirectWriter, batch: list[_Request]
    ) -> list[int]:
        inserts = [(self._insert_for(request.table), request.rows) for request in batch]
        return await anyio.to_thread.run_sync(_write_direct, direct, inserts)

    def _insert_for(self, table: Table) -> IdempotentInsert:
        insert = self._inserts.get(table.name)
        if insert is None:
            assert self._dialect is not None
            insert = IdempotentInsert(table, self._dialect)
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


def _check_backend(name: str) -> None:
    if name not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"the sink writes to SQLite or Postgres, not {name!r}")


def _write_direct(
    direct: DirectWriter, inserts: Sequence[tuple[IdempotentInsert, Sequence[Row]]]
) -> list[int]:
    """Build the SQLite statements of each insert and run them in one
    transaction. Runs in a worker thread, so converting a batch's values
    does not hold up the event loop."""
    return direct.write([insert.sqlite_statements(rows) for insert, rows in inserts])
