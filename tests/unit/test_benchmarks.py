"""Benchmark results and the helpers that watch a ``loomlite up`` child.

The helpers run here against small Python children that stand in for
``loomlite up``; the real benchmarks take minutes and run only through
``loomlite bench``.
"""

from __future__ import annotations

import sqlite3
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from loomlite._up_bench import (
    FirstRowDetector,
    measure_first_row,
    measure_peak_memory,
    measure_run_seconds,
    tree_rss,
    up_command,
)
from loomlite.benchmarks import BENCHMARKS, BenchmarkResult
from loomlite.errors import BenchmarkError

# -- BenchmarkResult ----------------------------------------------------------


def result(
    subject: float,
    baseline: float | None,
    target: float,
    *,
    higher_is_better: bool = True,
) -> BenchmarkResult:
    return BenchmarkResult(
        name="example",
        description="example",
        unit="s",
        subject=subject,
        baseline=baseline,
        target=target,
        higher_is_better=higher_is_better,
    )


def test_result_ratio_against_baseline() -> None:
    measured = result(300.0, 200.0, 1.0)

    assert measured.ratio == 1.5
    assert measured.value == 1.5
    assert measured.passed


def test_result_ratio_below_target() -> None:
    measured = result(50.0, 200.0, 0.3)

    assert measured.value == 0.25
    assert not measured.passed


def test_result_without_baseline() -> None:
    measured = result(0.8, None, 1.0, higher_is_better=False)

    assert measured.ratio is None
    assert measured.value == 0.8
    assert measured.passed


def test_result_lower_is_better_missed() -> None:
    measured = result(1.2, None, 1.0, higher_is_better=False)

    assert not measured.passed


def test_result_at_target_passes() -> None:
    assert result(150.0, None, 150.0, higher_is_better=False).passed
    assert result(2.0, 2.0, 1.0).passed


def test_result_zero_baseline_has_no_ratio() -> None:
    measured = result(5.0, 0.0, 1.0)

    assert measured.ratio is None
    assert measured.value == 5.0


def test_result_as_dict() -> None:
    data = result(0.5, None, 1.0, higher_is_better=False).as_dict()

    assert data["ratio"] is None
    assert data["value"] == 0.5
    assert data["passed"] is True
    assert data["unit"] == "s"


def test_benchmark_names() -> None:
    assert list(BENCHMARKS) == [
        "broker",
        "sink",
        "first_row",
        "memory",
        "phone_day",
        "http",
        "backends",
        "tui_frames",
        "tui_load",
    ]
    for name, benchmark in BENCHMARKS.items():
        assert benchmark.name == name


def test_up_command_runs_this_interpreter() -> None:
    command = up_command("--profile", "demo")

    assert command == [sys.executable, "-m", "loomlite", "up", "--profile", "demo"]


# -- FirstRowDetector ---------------------------------------------------------


def create_tables(path: Path, *names: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        for name in names:
            connection.execute(f"CREATE TABLE {name} (value INTEGER)")


def insert_row(path: Path, table: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(f"INSERT INTO {table} VALUES (1)")


def test_detector_missing_file(tmp_path: Path) -> None:
    with FirstRowDetector(tmp_path / "missing.db", ["gps"]) as detector:
        assert detector.poll() is None
    assert not (tmp_path / "missing.db").exists()


def test_detector_missing_tables(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    create_tables(path, "gps")

    with FirstRowDetector(path, ["gps", "steps"]) as detector:
        assert detector.poll() is None


def test_detector_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    create_tables(path, "gps", "steps")

    with FirstRowDetector(path, ["gps", "steps"]) as detector:
        assert detector.poll() is None


def test_detector_finds_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"

    with FirstRowDetector(path, ["gps", "steps"]) as detector:
        before_file = detector.poll()
        create_tables(path, "gps", "steps")
        before_row = detector.poll()
        insert_row(path, "steps")
        after_row = detector.poll()

    assert before_file is None
    assert before_row is None
    assert after_row == "steps"


def test_detector_ignores_uncommitted_row(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    create_tables(path, "gps")
    writer = sqlite3.connect(path)
    try:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO gps VALUES (1)")
        with FirstRowDetector(path, ["gps"]) as detector:
            uncommitted = detector.poll()
            writer.commit()
            committed = detector.poll()
    finally:
        writer.close()

    assert uncommitted is None
    assert committed == "gps"


def test_detector_ignores_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    create_tables(path, "gps", "alembic_version")
    insert_row(path, "alembic_version")

    with FirstRowDetector(path, ["gps"]) as detector:
        assert detector.poll() is None


def test_detector_closes_in_other_thread(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    create_tables(path, "gps")
    insert_row(path, "gps")
    detector = FirstRowDetector(path, ["gps"])
    found: list[str | None] = []

    poller = threading.Thread(target=lambda: found.append(detector.poll()))
    poller.start()
    poller.join()
    detector.close()

    assert found == ["gps"]


def test_detector_needs_tables(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one table"):
        FirstRowDetector(tmp_path / "loomlite.db", [])


# -- the measurements, on stand-in children -----------------------------------

# Blocks SIGINT before writing, so that the signal cannot arrive before the
# child waits for it; exits with the status given as its second argument.
WRITER = textwrap.dedent(
    """
    import signal, sqlite3, sys

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    with sqlite3.connect(sys.argv[1]) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE gps (value INTEGER)")
    with sqlite3.connect(sys.argv[1]) as connection:
        connection.execute("INSERT INTO gps VALUES (1)")
    signal.sigwait({signal.SIGINT})
    sys.exit(int(sys.argv[2]))
    """
)


def python(script: str, *arguments: str) -> list[str]:
    return [sys.executable, "-c", script, *arguments]


def test_first_row_measured(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"

    with FirstRowDetector(path, ["gps"]) as detector:
        seconds, table = measure_first_row(
            python(WRITER, str(path), "0"),
            detector.poll,
            log_path=tmp_path / "stderr.log",
            timeout=60,
        )

    assert table == "gps"
    assert 0 < seconds < 60


def test_first_row_unclean_exit(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"

    with (
        FirstRowDetector(path, ["gps"]) as detector,
        pytest.raises(BenchmarkError, match="exited with status 3"),
    ):
        measure_first_row(
            python(WRITER, str(path), "3"),
            detector.poll,
            log_path=tmp_path / "stderr.log",
            timeout=60,
        )


def test_first_row_early_exit(tmp_path: Path) -> None:
    script = "import sys; print('no database here', file=sys.stderr)"

    with (
        FirstRowDetector(tmp_path / "loomlite.db", ["gps"]) as detector,
        pytest.raises(BenchmarkError, match="exited before the first row") as caught,
    ):
        measure_first_row(
            python(script), detector.poll, log_path=tmp_path / "stderr.log"
        )

    assert "no database here" in str(caught.value)


def test_peak_memory_counts_children(tmp_path: Path) -> None:
    # The child only waits, while its own child keeps 80 MB resident for 0.5 s.
    holder = "import time; data = b'x' * 80_000_000; time.sleep(0.5)"
    parent = (
        "import subprocess, sys; "
        "subprocess.run([sys.executable, '-c', sys.argv[1]], check=True)"
    )

    peak = measure_peak_memory(
        python(parent, holder), log_path=tmp_path / "stderr.log", interval=0.01
    )

    assert peak >= 80_000_000


def test_peak_memory_failed_run(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="exited with status 2"):
        measure_peak_memory(
            python("import sys; sys.exit(2)"), log_path=tmp_path / "stderr.log"
        )


def test_run_seconds_measured(tmp_path: Path) -> None:
    seconds = measure_run_seconds(
        python("import time; time.sleep(0.2)"), log_path=tmp_path / "stderr.log"
    )

    assert 0.2 <= seconds < 60


def test_run_seconds_timeout_kills_child(tmp_path: Path) -> None:
    marker = f"sleeping-child-{tmp_path.name}"

    with pytest.raises(BenchmarkError, match=r"did not exit within 0\.5 s"):
        measure_run_seconds(
            python("import time; time.sleep(60)", marker),
            log_path=tmp_path / "stderr.log",
            timeout=0.5,
        )

    assert not [
        child
        for child in psutil.Process().children(recursive=True)
        if marker in child.cmdline()
    ]


def test_tree_rss_of_this_process() -> None:
    this = psutil.Process()

    assert tree_rss(this) >= this.memory_info().rss
