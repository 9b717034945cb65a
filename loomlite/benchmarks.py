"""Speed and memory targets of loomlite.

The broker and sink benchmarks are ratios against a baseline run in the same
process, so that results compare across machines. Each runs its subject and
its baseline alternately ``repeats`` times and reports the median of each,
which keeps a busy neighbour process from favouring one side.

The first_row, memory and phone_day benchmarks run ``loomlite up`` in a child
process ``repeats`` times and compare an absolute number (seconds or MB) with
the target, so they depend on the machine and on its load.
"""

from __future__ import annotations

import logging
import os
import platform
import statistics
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import anyio
import anyio.to_thread
import psutil

from loomlite._up_bench import (
    FirstRowDetector,
    measure_first_row,
    measure_peak_memory,
    measure_run_seconds,
    up_command,
)
from loomlite.errors import BenchmarkError

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
    """One target: the subject's and the baseline's measured values.

    ``unit`` names what both values count. Without a baseline the subject's
    value itself is compared with ``target``, else the ratio of the two.
    ``target`` is the lowest acceptable value when ``higher_is_better``, and
    the highest acceptable one otherwise.
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
    run: Callable[[int, Path], Awaitable[BenchmarkResult | list[BenchmarkResult]]]
    """Measures the target; one benchmark may report several results."""


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


# -- loomlite up in a child process ------------------------------------------

# The speed of the first_row run: one real second is one virtual minute, the
# demo profile's own speed.
FIRST_ROW_SPEED = 60.0
MEGABYTE = 1_000_000


def _state_dir(workdir: Path, name: str, run: int) -> Path:
    path = workdir / f"{name}-{run}"
    path.mkdir(parents=True)
    return path


def _up_arguments(state_dir: Path, *options: str) -> list[str]:
    database = f"sqlite:///{state_dir / 'loomlite.db'}"
    return up_command(
        *options, "--state-dir", str(state_dir), "--db", database, "--no-panel"
    )


async def _first_row(repeats: int, workdir: Path) -> BenchmarkResult:
    from loomlite.contract import CATALOG

    tables = {spec.table.name for spec in CATALOG.persisted() if spec.table}
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # Then every child compiles the modules that have no cached bytecode
        # yet, such as those of an editable install, from source.
        logger.warning(
            "PYTHONDONTWRITEBYTECODE is set: loomlite's modules are compiled "
            "again in every run, which adds to first_row"
        )
    samples: list[float] = []
    for run in range(repeats):
        state_dir = _state_dir(workdir, "first-row", run)
        arguments = _up_arguments(
            state_dir, "--profile", "demo", "--speed", f"{FIRST_ROW_SPEED:g}"
        )
        with FirstRowDetector(state_dir / "loomlite.db", tables) as detector:
            measure = partial(
                measure_first_row,
                arguments,
                detector.poll,
                log_path=state_dir / "stderr.log",
            )
            seconds, table = await anyio.to_thread.run_sync(measure)
        logger.info("first row after %.3f s, in table %s", seconds, table)
        samples.append(seconds)
    return BenchmarkResult(
        name="first_row",
        description=(
            "real seconds from launching `loomlite up --profile demo --speed "
            f"{FIRST_ROW_SPEED:g}` on a new SQLite file to its first committed "
            f"row, median of {repeats} run(s); each run must exit with status 0 "
            "after SIGINT"
        ),
        unit="s",
        subject=statistics.median(samples),
        baseline=None,
        target=1.0,
        higher_is_better=False,
        samples={"subject": samples},
    )


async def _memory(repeats: int, workdir: Path) -> BenchmarkResult:
    samples: list[float] = []
    for run in range(repeats):
        state_dir = _state_dir(workdir, "memory", run)
        arguments = _up_arguments(
            state_dir, "--profile", "full", "--speed", "max", "--duration", "2h"
        )
        measure = partial(
            measure_peak_memory, arguments, log_path=state_dir / "stderr.log"
        )
        peak = await anyio.to_thread.run_sync(measure)
        samples.append(peak / MEGABYTE)
    return BenchmarkResult(
        name="memory",
        description=(
            "peak resident memory (1 MB = 10^6 bytes, sampled every 50 ms, child "
            "processes included) of `loomlite up --profile full --speed max "
            f"--duration 2h` with simulated backends, highest of {repeats} run(s)"
        ),
        unit="MB",
        subject=max(samples),
        baseline=None,
        target=150.0,
        higher_is_better=False,
        samples={"subject": samples},
    )


async def _phone_day(repeats: int, workdir: Path) -> BenchmarkResult:
    samples: list[float] = []
    for run in range(repeats):
        state_dir = _state_dir(workdir, "phone-day", run)
        arguments = _up_arguments(
            state_dir, "--profile", "bench-phone-day", "--speed", "max"
        )
        measure = partial(
            measure_run_seconds, arguments, log_path=state_dir / "stderr.log"
        )
        seconds = await anyio.to_thread.run_sync(measure)
        samples.append(seconds)
    return BenchmarkResult(
        name="phone_day",
        description=(
            "real seconds from launch to exit of `loomlite up --profile "
            "bench-phone-day --speed max`: one phone with the demo sources and no "
            f"desktop for one day of event time, median of {repeats} run(s)"
        ),
        unit="s",
        subject=statistics.median(samples),
        baseline=None,
        target=60.0,
        higher_is_better=False,
        samples={"subject": samples},
    )


async def _http(repeats: int, workdir: Path) -> BenchmarkResult:
    from loomlite.gateway._bench import LoadResult, measure_bare, measure_gateway

    readings, clients = 10_000, 16
    subject: list[LoadResult] = []
    baseline: list[LoadResult] = []
    for run in range(repeats):
        baseline.append(await measure_bare(readings, clients))
        subject.append(
            await measure_gateway(readings, clients, workdir / f"http-{run}")
        )
    for result in subject:
        if result.rows != readings or len(result.distinct_ids or ()) != readings:
            raise BenchmarkError(
                f"the gateway stored {result.rows} rows with "
                f"{len(result.distinct_ids or ())} distinct ids for {readings} readings"
            )
    p50 = statistics.median(run.percentile_ms(0.5) for run in subject)
    p99 = statistics.median(run.percentile_ms(0.99) for run in subject)
    return BenchmarkResult(
        name="http",
        description=(
            f"{readings:,} GPS readings posted by {clients} concurrent httpx "
            "clients on loopback to the gateway (ingest and persist into a new "
            f"SQLite file, every row checked), p50 {p50:.1f} ms, p99 {p99:.1f} "
            "ms; baseline: the same load to a FastAPI route that only parses "
            "the JSON; client and server share one process"
        ),
        unit="requests/s",
        subject=statistics.median(run.rate for run in subject),
        baseline=statistics.median(run.rate for run in baseline),
        target=0.5,
        samples={
            "subject": [run.rate for run in subject],
            "baseline": [run.rate for run in baseline],
            "p50_ms": [run.percentile_ms(0.5) for run in subject],
            "p99_ms": [run.percentile_ms(0.99) for run in subject],
        },
    )


async def _tui_frames(repeats: int, workdir: Path) -> list[BenchmarkResult]:
    # Imported here so that other benchmarks do not load Textual.
    from loomlite.tui.bench import measure_frames

    return await measure_frames(repeats, workdir)


async def _tui_load(repeats: int, workdir: Path) -> BenchmarkResult:
    from loomlite.tui.bench import measure_load

    return await measure_load(repeats, workdir)


async def _backends(repeats: int, workdir: Path) -> list[BenchmarkResult]:
    from loomlite._backend_bench import measure_backends

    speeds, skipped = await anyio.to_thread.run_sync(measure_backends, repeats)
    skipped_note = f"; skipped: {', '.join(skipped)}" if skipped else ""
    return [
        BenchmarkResult(
            name=f"backend:{speed.stage}/{speed.backend}",
            description=(
                f"{speed.stage} backend {speed.backend} on {speed.workload}, "
                f"median of {repeats} run(s) after one warm-up{skipped_note}"
            ),
            unit=speed.unit,
            subject=speed.value,
            baseline=None,
            target=speed.target,
            higher_is_better=speed.higher_is_better,
            samples={"subject": speed.samples},
        )
        for speed in speeds
    ]


BENCHMARKS: dict[str, Benchmark] = {
    "broker": Benchmark(
        "broker", "broker publish→consume vs asyncio.Queue", _broker_rate
    ),
    "sink": Benchmark(
        "sink", "message → committed SQLite row vs sqlite3 executemany", _sink_rate
    ),
    "first_row": Benchmark(
        "first_row", "loomlite up launch → first committed row", _first_row
    ),
    "memory": Benchmark(
        "memory", "peak resident memory of the full profile for 2 h", _memory
    ),
    "phone_day": Benchmark(
        "phone_day", "one simulated phone-day at --speed max", _phone_day
    ),
    "http": Benchmark(
        "http", "10,000 GPS posts to the HTTP gateway vs a bare route", _http
    ),
    "backends": Benchmark(
        "backends", "speed of each installed real model backend", _backends
    ),
    "tui_frames": Benchmark(
        "tui_frames",
        "TUI frame interval p99 while the demo runs at --speed max",
        _tui_frames,
    ),
    "tui_load": Benchmark(
        "tui_load",
        "50 devices x 20 msg/s stored with the TUI open vs closed",
        _tui_load,
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
            outcome = await benchmark.run(repeats, Path(tmp))
            for result in outcome if isinstance(outcome, list) else [outcome]:
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
