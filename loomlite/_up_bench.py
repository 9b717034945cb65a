"""Measurements of ``loomlite up`` run as a child process, as a user starts it.

Each helper launches ``python -m loomlite up ...`` with the interpreter that
runs the caller, watches the process from outside, and checks that it exits
with status 0. They block, so async callers run them in a worker thread.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import psutil
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from loomlite.errors import BenchmarkError

__all__ = [
    "FirstRowDetector",
    "measure_first_row",
    "measure_peak_memory",
    "measure_run_seconds",
    "tree_rss",
    "up_command",
]

logger = logging.getLogger(__name__)

# Real seconds a child may take to exit after SIGINT: it drains the broker
# and flushes the database first.
STOP_TIMEOUT = 120.0

# Characters of the child's stderr quoted in an error.
_STDERR_TAIL = 2_000


def up_command(*arguments: str) -> list[str]:
    """Return the argv of ``loomlite up`` with ``arguments``, run by this
    interpreter, so that the child uses the same environment."""
    return [sys.executable, "-m", "loomlite", "up", *arguments]


class FirstRowDetector:
    """Finds a committed row in any of ``tables`` of the SQLite file
    ``database``, which need not exist yet.

    ``poll`` runs one ``SELECT EXISTS (...), ...`` statement over all the
    tables on a read-only connection. The connection stays open between
    polls, because opening one parses the whole schema again. It takes no
    lock between polls, and while it reads, the sink's writer goes on,
    because the sink runs SQLite in WAL mode.
    """

    def __init__(self, database: Path, tables: Iterable[str]) -> None:
        self.database = database
        self.tables = sorted(set(tables))
        if not self.tables:
            raise ValueError("FirstRowDetector needs at least one table name")
        checks = [
            sa.exists().select_from(sa.table(name)).label(f"t{index}")
            for index, name in enumerate(self.tables)
        ]
        statement = sa.select(*checks)
        self._query = str(statement.compile(dialect=sqlite.dialect()))
        self._connection: sqlite3.Connection | None = None

    def poll(self) -> str | None:
        """Return the first table (by name) that has a row, or None while the
        file, a table or every row is still missing."""
        connection = self._connect()
        if connection is None:
            return None
        try:
            found = connection.execute(self._query).fetchone()
        except sqlite3.Error:
            # The schema is not committed yet, or the writer holds a lock
            # that a read-only connection does not wait for.
            return None
        for name, exists in zip(self.tables, found, strict=True):
            if exists:
                return name
        return None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is None and self.database.exists():
            uri = f"{self.database.resolve().as_uri()}?mode=ro"
            try:
                # Benchmarks poll in a worker thread and close in the event
                # loop's thread, one after the other, never at the same time.
                self._connection = sqlite3.connect(
                    uri, uri=True, timeout=0, check_same_thread=False
                )
            except sqlite3.Error:
                return None
        return self._connection


def measure_first_row(
    arguments: Sequence[str],
    detect: Callable[[], str | None],
    *,
    log_path: Path,
    timeout: float = 60.0,
    poll_interval: float = 0.01,
) -> tuple[float, str]:
    """Start ``loomlite up`` with ``arguments`` and return the real seconds
    from the launch to the first committed row, and its table.

    ``detect`` (typically ``FirstRowDetector.poll``) returns the table of a
    committed row or None; it is called every ``poll_interval`` seconds.
    Then the child gets SIGINT and must exit with status 0 within
    STOP_TIMEOUT. Raises
    BenchmarkError when it exits early, finds no row within ``timeout``
    seconds, or does not exit cleanly.
    """
    with _launched(arguments, log_path) as process:
        started = time.perf_counter()
        deadline = started + timeout
        while (table := detect()) is None:
            if process.poll() is not None:
                raise _failure("exited before the first row", arguments, log_path)
            if time.perf_counter() > deadline:
                raise _failure(f"wrote no row in {timeout:g} s", arguments, log_path)
            time.sleep(poll_interval)
        elapsed = time.perf_counter() - started
        process.send_signal(signal.SIGINT)
        _wait(process, STOP_TIMEOUT, arguments, log_path)
    return elapsed, table


def measure_peak_memory(
    arguments: Sequence[str],
    *,
    log_path: Path,
    timeout: float = 600.0,
    interval: float = 0.05,
) -> int:
    """Run ``loomlite up`` with ``arguments`` to its end and return its peak
    resident memory in bytes, its child processes included.

    The resident set size is sampled every ``interval`` seconds, so a spike
    shorter than that can be missed. Raises BenchmarkError when the run
    takes longer than ``timeout`` seconds or exits with another status than 0.
    """
    with _launched(arguments, log_path) as process:
        watched = psutil.Process(process.pid)
        deadline = time.perf_counter() + timeout
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(watched))
            if time.perf_counter() > deadline:
                raise _failure(f"ran longer than {timeout:g} s", arguments, log_path)
            time.sleep(interval)
        _wait(process, 0, arguments, log_path)
    return peak


def measure_run_seconds(
    arguments: Sequence[str], *, log_path: Path, timeout: float = 600.0
) -> float:
    """Run ``loomlite up`` with ``arguments`` to its end and return the real
    seconds from the launch to the exit.

    Raises BenchmarkError when the run takes longer than ``timeout`` seconds
    or exits with another status than 0.
    """
    with _launched(arguments, log_path) as process:
        started = time.perf_counter()
        _wait(process, timeout, arguments, log_path)
        return time.perf_counter() - started


def tree_rss(process: psutil.Process) -> int:
    """Return the resident set size of ``process`` and all its descendants in
    bytes; processes that exit while being read count as 0."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return total


@contextmanager
def _launched(
    arguments: Sequence[str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the child with stdout discarded and stderr in ``log_path``; kill
    it if the caller leaves early."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logger.debug("starting %s", " ".join(arguments))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(arguments),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            logger.warning("killing loomlite up (pid %d) after a failure", process.pid)
            process.kill()
            process.wait()


def _wait(
    process: subprocess.Popen[bytes],
    timeout: float,
    arguments: Sequence[str],
    log_path: Path,
) -> None:
    try:
        status = process.wait(timeout)
    except subprocess.TimeoutExpired:
        problem = f"did not exit within {timeout:g} s"
        raise _failure(problem, arguments, log_path) from None
    if status != 0:
        raise _failure(f"exited with status {status}", arguments, log_path)


def _failure(problem: str, arguments: Sequence[str], log_path: Path) -> BenchmarkError:
    try:
        stderr = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        stderr = ""
    tail = stderr[-_STDERR_TAIL:].strip() or "(no output)"
    command = " ".join(arguments)
    return BenchmarkError(
        f"loomlite up {problem}: {command}\nits stderr ends with:\n{tail}"
    )
