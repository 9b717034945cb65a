"""Backend calls off the event loop, with a timeout and a circuit breaker.

Every ai and enrich stage calls its model backend through an
``InferenceGuard``. The guard runs the call in a daemon thread (asyncio
only) under the stage's capacity limiter, abandons it after the stage's
timeout, and counts failures in a ``CircuitBreaker``. Once the circuit
opens, calls fail at once with ``CircuitOpenError`` without touching the
backend, so the dispatcher sends their messages to the stage's error topic
and the stage keeps pace with its input. After ``open_seconds`` one call
goes through as a probe: its success closes the circuit, its failure opens
it again.

Python cannot stop a thread, so an abandoned call keeps running in its
thread until the backend returns. A guard for a backend that is not
thread-safe (``exclusive``) therefore rejects calls while an abandoned call
still runs, and counts each rejection as a failure.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Generic, TypeVar, TypeVarTuple, Unpack

import anyio

from loomlite.errors import LoomliteError
from loomlite.runtime.statistics import BackendCounters, ComponentCounters

if TYPE_CHECKING:
    from loomlite.runtime.settings import InferenceSettings

__all__ = [
    "BackendBusyError",
    "BackendTimeoutError",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "InferenceGuard",
    "create_guard",
]

logger = logging.getLogger(__name__)

_Args = TypeVarTuple("_Args")
_T = TypeVar("_T")


class CircuitOpenError(LoomliteError):
    """Raised instead of calling a backend whose circuit is open."""

    log_traceback = False
    """The dispatcher logs this error without a traceback, because every
    record raises it while the circuit is open."""

    def __init__(self, stage: str, backend: str, retry_in: float) -> None:
        self.stage = stage
        self.backend = backend
        self.retry_in = retry_in
        super().__init__(
            f"circuit of {stage} backend {backend!r} is open after repeated "
            f"failures; the next probe call is in {retry_in:.1f} s"
        )


class BackendTimeoutError(LoomliteError):
    """Raised when a backend call runs longer than the stage's timeout."""

    def __init__(self, stage: str, backend: str, timeout: float) -> None:
        self.stage = stage
        self.backend = backend
        self.timeout = timeout
        super().__init__(
            f"{stage} backend {backend!r} timed out after {timeout:g} s; the "
            "call was abandoned and its thread runs on until the backend returns"
        )


class BackendBusyError(LoomliteError):
    """Raised when a backend that is not thread-safe still runs an abandoned call."""

    def __init__(self, stage: str, backend: str) -> None:
        self.stage = stage
        self.backend = backend
        super().__init__(
            f"{stage} backend {backend!r} is still running a call that timed out, "
            "and it is not thread-safe; the call was not started"
        )


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure circuit breaker on a monotonic clock in seconds.

    ``clock`` defaults to ``time.monotonic``; tests pass a controllable one.
    Only one probe runs in the half-open state. Other calls are rejected
    until the probe ends.
    """

    def __init__(
        self,
        failure_threshold: int,
        open_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(
                f"failure_threshold must be at least 1, got {failure_threshold!r}"
            )
        if open_seconds < 0:
            raise ValueError(f"open_seconds must not be negative, got {open_seconds!r}")
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.clock = clock
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self._opened_at = 0.0
        self._probing = False

    def retry_in(self) -> float:
        """Return the seconds until an open circuit lets a probe through."""
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.open_seconds - self.clock())

    def try_acquire(self) -> bool:
        """Return True when a call may start now, moving OPEN to HALF_OPEN on time."""
        if self.state is CircuitState.CLOSED:
            return True
        if self.state is CircuitState.OPEN:
            if self.retry_in() > 0.0:
                return False
            self.state = CircuitState.HALF_OPEN
            self._probing = False
        if self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self._probing = False
        self.state = CircuitState.CLOSED

    def record_failure(self) -> bool:
        """Count a failure. Return True when it opened the circuit."""
        self.consecutive_failures += 1
        probe_failed = self.state is CircuitState.HALF_OPEN
        self._probing = False
        if probe_failed or self.consecutive_failures >= self.failure_threshold:
            was_open = self.state is CircuitState.OPEN
            self.state = CircuitState.OPEN
            self._opened_at = self.clock()
            return not was_open
        return False

    def release(self) -> None:
        """End a call that neither succeeded nor failed, such as a bad input."""
        if self.state is CircuitState.HALF_OPEN:
            self._probing = False


class InferenceGuard:
    """Runs one stage's backend calls in threads, with a timeout and a breaker.

    ``input_errors`` are exception types that blame the input, not the
    backend, such as an audio chunk that does not decode. They pass through
    without counting as failures.
    """

    def __init__(
        self,
        stage: str,
        backend: str,
        *,
        limiter: anyio.CapacityLimiter,
        timeout: float,
        breaker: CircuitBreaker,
        counters: BackendCounters,
        exclusive: bool = False,
        input_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self.stage = stage
        self.backend = backend
        self.limiter = limiter
        self.timeout = timeout
        self.breaker = breaker
        self.counters = counters
        self.exclusive = exclusive
        self.input_errors = input_errors
        # Calls that timed out and still run in their threads. Threads
        # decrement it, so a lock guards it.
        self._abandoned = 0
        self._abandoned_lock = threading.Lock()

    @property
    def abandoned_calls(self) -> int:
        """Calls that timed out and whose threads are still running."""
        with self._abandoned_lock:
            return self._abandoned

    async def call(self, function: Callable[[Unpack[_Args]], _T], *args: *_Args) -> _T:
        """Call ``function(*args)`` in a daemon thread and return its result.

        Raises CircuitOpenError while the circuit is open, BackendTimeoutError
        when the call takes longer than ``timeout``, BackendBusyError for an
        exclusive backend that still runs an abandoned call, and whatever the
        function raises.
        """
        counters = self.counters
        if not self.breaker.try_acquire():
            counters.rejected += 1
            self._sync_state()
            raise CircuitOpenError(self.stage, self.backend, self.breaker.retry_in())
        try:
            result = await self._run(function, *args)
        except self.input_errors:
            self.breaker.release()
            raise
        except BaseException as error:
            # Cancellation from outside (a stop) is not the backend's fault.
            if isinstance(error, anyio.get_cancelled_exc_class()):
                self.breaker.release()
                raise
            self._record_failure(error)
            raise
        self.breaker.record_success()
        self._sync_state()
        return result

    async def _run(self, function: Callable[[Unpack[_Args]], _T], *args: *_Args) -> _T:
        async with self.limiter:
            if self.exclusive and self.abandoned_calls:
                raise BackendBusyError(self.stage, self.backend)
            tracked = _TrackedCall(self, function)
            started = time.perf_counter()
            with anyio.move_on_after(self.timeout) as scope:
                result = await _run_in_daemon_thread(tracked, *args)
            elapsed = time.perf_counter() - started
            if scope.cancelled_caught:
                tracked.abandon()
                self.counters.timeouts += 1
                raise BackendTimeoutError(self.stage, self.backend, self.timeout)
        self.counters.calls += 1
        self.counters.busy_seconds += elapsed
        self.counters.max_call_seconds = max(self.counters.max_call_seconds, elapsed)
        return result

    def _record_failure(self, error: BaseException) -> None:
        counters = self.counters
        counters.failures += 1
        counters.last_error = f"{type(error).__name__}: {error}"
        if self.breaker.record_failure():
            counters.circuit_opened += 1
            logger.error(
                "circuit of %s backend %r opened after %d failure(s) in a row; "
                "its messages go to the error topic for %.1f s: %s",
                self.stage,
                self.backend,
                self.breaker.consecutive_failures,
                self.breaker.open_seconds,
                counters.last_error,
            )
        self._sync_state()

    def _sync_state(self) -> None:
        previous = self.counters.circuit
        state = self.breaker.state.value
        if previous != state:
            self.counters.circuit = state
            if state == CircuitState.CLOSED:
                logger.info(
                    "circuit of %s backend %r closed: the probe call succeeded",
                    self.stage,
                    self.backend,
                )

    def _thread_finished(self) -> None:
        with self._abandoned_lock:
            self._abandoned -= 1


async def _run_in_daemon_thread(
    function: Callable[[Unpack[_Args]], _T], *args: *_Args
) -> _T:
    """Run ``function`` in a new daemon thread and await its result.

    anyio's worker threads are not daemon threads, so one that still runs an
    abandoned call when the event loop closes would keep the process from
    exiting. A daemon thread ends with the process. Cancelling the caller
    abandons the call, and the thread drops its result.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def deliver(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def target() -> None:
        try:
            result = function(*args)
        except BaseException as error:
            outcome: Callable[[], None] = partial(future.set_exception, error)
        else:
            outcome = partial(future.set_result, result)
        try:
            loop.call_soon_threadsafe(deliver, outcome)
        except RuntimeError:
            logger.debug("event loop closed before a backend call returned")

    name = getattr(function, "__qualname__", "backend call")
    threading.Thread(target=target, name=f"inference:{name}", daemon=True).start()
    return await future


class _TrackedCall(Generic[_T]):
    """A function wrapper that records whether its caller abandoned it."""

    def __init__(self, guard: InferenceGuard, function: Callable[..., _T]) -> None:
        self._guard = guard
        self._function = function
        self._lock = threading.Lock()
        self._running = True
        self._abandoned = False

    def __call__(self, *args: object) -> _T:
        try:
            return self._function(*args)
        finally:
            with self._lock:
                self._running = False
                abandoned = self._abandoned
            if abandoned:
                self._guard._thread_finished()
                logger.warning(
                    "abandoned call of %s backend %r finished",
                    self._guard.stage,
                    self._guard.backend,
                )

    def abandon(self) -> None:
        with self._lock:
            if not self._running:
                return
            self._abandoned = True
            with self._guard._abandoned_lock:
                self._guard._abandoned += 1


def create_guard(
    stage: str,
    backend: str,
    settings: InferenceSettings,
    counters: ComponentCounters,
    *,
    threads: int = 1,
    exclusive: bool = False,
    input_errors: tuple[type[BaseException], ...] = (),
) -> InferenceGuard:
    """Build the guard of one stage from its component's inference settings."""
    backend_counters = counters.backend(stage, backend)
    # A new guard starts with a closed circuit, also after a restart.
    backend_counters.circuit = CircuitState.CLOSED.value
    return InferenceGuard(
        stage,
        backend,
        limiter=anyio.CapacityLimiter(threads),
        timeout=settings.timeout_of(stage),
        breaker=CircuitBreaker(settings.failure_threshold, settings.open_seconds),
        counters=backend_counters,
        exclusive=exclusive,
        input_errors=input_errors,
    )
