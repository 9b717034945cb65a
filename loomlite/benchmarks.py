"""Speed and memory targets, each measured as a ratio against a baseline run
in the same process, so that results compare across machines.

Each benchmark runs its subject and its baseline alternately ``repeats`` times
and reports the median of each, which keeps a busy neighbour process from
favouring one side.
"""

from __future__ import annotations

import logging
import os
import platform
import statistics
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread
import psutil

__all__ = [
    "BENCHMARKS",
    "BenchmarkResult",
    "describe_machine",
    "run_benchmarks",
]

logger = logging.getLogger(__name__)

Measure = Callable[[], Awaitable[float]]


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    """One target: the subject's and the baseline's median rates, and the ratio.

    ``unit`` names what both rates count. ``target`` is the lowest acceptable
    ratio (``higher_is_better``) or the highest acceptable value otherwise.
    """

    name: str
    description: str
    unit: str
    subject: float
    baseline: float | None
    target: float
    higher_is_better: bool = True
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.subject / self.baseline

    @property
    def value(self) -> float:
        """The number compared with the target: the ratio, or the raw value
        when there is no baseline."""
        ratio = self.ratio
        return self.subject if ratio is None else ratio

    @property
    def passed(self) -> bool:
        if self.higher_is_better:
            return self.value >= self.target
        return self.value <= self.target

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.update(ratio=self.ratio, value=self.value, passed=self.passed)
        return data


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[int, Path], Awaitable[BenchmarkResult]]


async def _alternate(
    subject: Measure, baseline: Measure, repeats: int
) -> tuple[list[float], list[float]]:
    subject_rates: list[float] = []
    baseline_rates: list[float] = []
    for _ in range(repeats):
        baseline_rates.append(await baseline())
        subject_rates.append(await subject())
    return subject_rates, baseline_rates


async def _broker_rate(repeats: int, workdir: Path) -> BenchmarkResult:
    from loomlite.broker import MemoryBroker
    from loomlite.broker._bench import measure_publish_consume, measure_queue

    messages, value_size, maxsize = 200_000, 200, 10_000
    subject, baseline = await _alternate(
        lambda: measure_publish_consume(MemoryBroker, messages, value_size),
        lambda: measure_queue(messages, value_size, maxsize),
        repeats,
    )
    return BenchmarkResult(
        name="broker",
        description=(
            f"memory broker publish→consume, {messages:,} records of "
            f"{value_size} B, vs a bare asyncio.Queue (maxsize {maxsize:,})"
        ),
        unit="records/s",
        subject=statistics.median(subject),
        baseline=statistics.median(baseline),
        target=1.0,
        samples={"subject": subject, "baseline": baseline},
    )


async def _sink_rate(repeats: int, workdir: Path) -> BenchmarkResult:
    from loomlite.sink._bench import measure_raw_sqlite, measure_sink

    rows = 50_000
    counter = iter(range(1_000_000))

    def fresh(name: str) -> Path:
        return workdir / f"{name}-{next(counter)}.db"

    async def raw() -> float:
        return await anyio.to_thread.run_sync(measure_raw_sqlite, fresh("raw"), rows)

    subject, baseline = await _alternate(
        lambda: measure_sink(fresh("sink"), rows), raw, repeats
    )
    return BenchmarkResult(
        name="sink",
        description=(
            f"GPS message bytes → committed SQLite row, {rows:,} rows, vs raw "
            "sqlite3 executemany into the same table"
        ),
        unit="rows/s",
        subject=statistics.median(subject),
        baseline=statistics.median(baseline),
        target=0.3,
        samples={"subject": subject, "baseline": baseline},
    )


BENCHMARKS: dict[str, Benchmark] = {
    "broker": Benchmark(
        "broker", "broker publish→consume vs asyncio.Queue", _broker_rate
    ),
    "sink": Benchmark(
        "sink", "message → committed SQLite row vs sqlite3 executemany", _sink_rate
    ),
}


async def run_benchmarks(
    names: Iterable[str],
    *,
    repeats: int = 3,
    on_result: Callable[[BenchmarkResult], None] | None = None,
) -> list[BenchmarkResult]:
    """Run the named benchmarks in order and return their results."""
    results: list[BenchmarkResult] = []
    with tempfile.TemporaryDirectory(prefix="loomlite-bench-") as tmp:
        for name in names:
            benchmark = BENCHMARKS[name]
            logger.info("running benchmark %s", name)
            result = await benchmark.run(repeats, Path(tmp))
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> dict[str, str]:
    """Facts about this machine that a benchmark record should carry."""
    memory = psutil.virtual_memory().total / 2**30
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{memory:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
