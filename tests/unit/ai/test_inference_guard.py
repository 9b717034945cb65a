"""The circuit breaker and the inference guard around backend calls."""

from __future__ import annotations

import threading

import anyio
import pytest

from loomlite.components.inference import (
    BackendBusyError,
    BackendTimeoutError,
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    InferenceGuard,
    create_guard,
)
from loomlite.runtime.settings import InferenceSettings
from loomlite.runtime.statistics import BackendCounters, ComponentCounters


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_guard(
    *,
    threshold: int = 2,
    open_seconds: float = 10.0,
    timeout: float = 5.0,
    exclusive: bool = False,
) -> tuple[InferenceGuard, FakeClock]:
    clock = FakeClock()
    guard = InferenceGuard(
        "stt",
        "flaky",
        limiter=anyio.CapacityLimiter(1),
        timeout=timeout,
        breaker=CircuitBreaker(threshold, open_seconds, clock=clock),
        counters=BackendCounters("stt", "flaky"),
        exclusive=exclusive,
        input_errors=(ValueError,),
    )
    return guard, clock


def fail() -> None:
    raise RuntimeError("model crashed")


def succeed() -> str:
    return "ok"


# -- circuit breaker -----------------------------------------------------------


def test_breaker_opens_after_threshold() -> None:
    breaker = CircuitBreaker(3, 5.0, clock=FakeClock())

    assert breaker.record_failure() is False
    assert breaker.record_failure() is False
    assert breaker.record_failure() is True
    assert breaker.state is CircuitState.OPEN
    assert breaker.try_acquire() is False


def test_breaker_success_resets_count() -> None:
    breaker = CircuitBreaker(2, 5.0, clock=FakeClock())

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state is CircuitState.CLOSED


def test_breaker_allows_one_probe_after_wait() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    breaker.record_failure()

    clock.now += 4.9
    assert breaker.try_acquire() is False
    assert breaker.retry_in() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.try_acquire() is True
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.try_acquire() is False


def test_failed_probe_opens_again() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 5.0, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 5.0
    assert breaker.try_acquire() is True

    breaker.record_failure()

    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_in() == pytest.approx(5.0)


def test_released_probe_lets_next_call_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 0.0, clock=clock)
    breaker.record_failure()
    assert breaker.try_acquire() is True

    breaker.release()

    assert breaker.try_acquire() is True


def test_breaker_rejects_invalid_settings() -> None:
    with pytest.raises(ValueError, match="failure_threshold must be at least 1"):
        CircuitBreaker(0, 1.0)
    with pytest.raises(ValueError, match="open_seconds must not be negative"):
        CircuitBreaker(1, -1.0)


# -- guard ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_guard_returns_result_and_counts() -> None:
    guard, _ = make_guard()

    assert await guard.call(succeed) == "ok"

    assert guard.counters.calls == 1
    assert guard.counters.failures == 0
    assert guard.counters.circuit == "closed"


@pytest.mark.anyio
async def test_guard_opens_circuit_and_rejects() -> None:
    guard, _ = make_guard(threshold=2)
    calls = 0

    def counted_failure() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("model crashed")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="model crashed"):
            await guard.call(counted_failure)
    with pytest.raises(CircuitOpenError, match="circuit of stt backend 'flaky'"):
        await guard.call(counted_failure)

    assert calls == 2
    assert guard.counters.failures == 2
    assert guard.counters.rejected == 1
    assert guard.counters.circuit_opened == 1
    assert guard.counters.circuit == "open"
    assert guard.counters.last_error == "RuntimeError: model crashed"


@pytest.mark.anyio
async def test_guard_recovers_through_probe() -> None:
    guard, clock = make_guard(threshold=1, open_seconds=10.0)
    with pytest.raises(RuntimeError):
        await guard.call(fail)

    clock.now += 10.0
    result = await guard.call(succeed)

    assert result == "ok"
    assert guard.counters.circuit == "closed"
    assert guard.breaker.consecutive_failures == 0


@pytest.mark.anyio
async def test_input_errors_do_not_count() -> None:
    guard, _ = make_guard(threshold=1)

    def bad_input() -> None:
        raise ValueError("sample rate 0 is invalid")

    with pytest.raises(ValueError):
        await guard.call(bad_input)

    assert guard.counters.failures == 0
    assert guard.counters.circuit == "closed"


@pytest.mark.anyio
async def test_timeout_abandons_call() -> None:
    guard, _ = make_guard(threshold=1, timeout=0.05)
    release = threading.Event()

    def hang() -> str:
        release.wait(timeout=30)
        return "late"

    with pytest.raises(BackendTimeoutError, match=r"timed out after 0\.05 s"):
        await guard.call(hang)

    assert guard.counters.timeouts == 1
    assert guard.counters.circuit == "open"
    assert guard.abandoned_calls == 1
    release.set()


@pytest.mark.anyio
async def test_exclusive_backend_busy_after_timeout() -> None:
    guard, _ = make_guard(threshold=5, timeout=0.05, exclusive=True)
    release = threading.Event()

    def hang() -> None:
        release.wait(timeout=30)

    with pytest.raises(BackendTimeoutError):
        await guard.call(hang)
    with pytest.raises(BackendBusyError, match="not thread-safe"):
        await guard.call(succeed)

    # The timeout and the rejected call both count as failures.
    assert guard.counters.failures == 2
    assert guard.counters.timeouts == 1
    release.set()


@pytest.mark.anyio
async def test_cancellation_is_not_a_failure() -> None:
    guard, _ = make_guard(threshold=1)
    release = threading.Event()

    def hang() -> None:
        release.wait(timeout=30)

    with anyio.move_on_after(0.05):
        await guard.call(hang)
    release.set()

    assert guard.counters.failures == 0
    assert guard.counters.circuit == "closed"


def test_create_guard_uses_stage_timeout() -> None:
    settings = InferenceSettings(timeout=60.0, stage_timeouts={"stt": 120.0})
    counters = ComponentCounters("ai")

    stt = create_guard("stt", "faster-whisper", settings, counters)
    vad = create_guard("vad", "silero", settings, counters)

    assert stt.timeout == 120.0
    assert vad.timeout == 60.0
    assert set(counters.backends) == {"stt", "vad"}
    assert counters.snapshot().backends[0].backend == "faster-whisper"


def test_settings_reject_non_positive_stage_timeout() -> None:
    with pytest.raises(ValueError, match="timeout of stage 'stt' must be positive"):
        InferenceSettings(stage_timeouts={"stt": 0.0})
