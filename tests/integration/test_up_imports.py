"""``loomlite up`` imports only what the running profile uses.

Each package that a run does not need costs resident memory and start-up
time: the gateway's web stack when the gateway is off, the TUI, the profile
watcher, Alembic on a new database, the Postgres dialect on SQLite, and the
packages of real model backends when the profile simulates them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Top-level packages and modules, matched with their submodules.
NOT_IMPORTED = (
    "alembic",
    "asyncpg",
    "cv2",
    "faster_whisper",
    "fastapi",
    "hypothesis",
    "multiprocessing",
    "onnxruntime",
    "pandas",
    "rapidocr",
    "scipy",
    "sqlalchemy.dialects.postgresql",
    "starlette",
    "textual",
    "uvicorn",
    "watchfiles",
)

_RUN_UP = textwrap.dedent(
    """
    import json
    import sys

    from loomlite.cli import main

    try:
        main(sys.argv[1:], prog_name="loomlite", standalone_mode=False)
    finally:
        print(json.dumps(sorted(sys.modules)))
    """
)


def imported_by_up(state_dir: Path, *arguments: str) -> set[str]:
    """Run ``loomlite up`` with ``arguments`` in a child process and return
    the names in its ``sys.modules`` at the end."""
    command = [
        sys.executable,
        "-c",
        _RUN_UP,
        "up",
        *arguments,
        "--state-dir",
        str(state_dir),
        "--no-panel",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    last_line = result.stdout.strip().splitlines()[-1]
    return set(json.loads(last_line))


def test_full_profile_imports_nothing_unused(tmp_path: Path) -> None:
    modules = imported_by_up(
        tmp_path, "--profile", "full", "--speed", "max", "--duration", "2m"
    )

    # The run itself did import the pipeline.
    assert "loomlite.session" in modules
    assert "sqlalchemy.dialects.sqlite" in modules
    for name in NOT_IMPORTED:
        loaded = sorted(
            module
            for module in modules
            if module == name or module.startswith(f"{name}.")
        )
        assert not loaded, f"loomlite up imported {name}: {loaded[:5]}"
