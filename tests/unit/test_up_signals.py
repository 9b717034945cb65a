"""``loomlite up`` drains on the first Ctrl-C from the moment the session starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Runs in a child process, because it sends SIGINT to its own process. The
# session stand-in sends the signal before its first await, the way a
# Ctrl-C lands while the real session imports its modules and migrates the
# database. It then waits for the stop event that the first Ctrl-C sets.
_SCRIPT = textwrap.dedent(
    """
    import os
    import signal

    import anyio
    from rich.console import Console

    import loomlite.session
    from loomlite.cli import up

    async def interrupted_session(settings, *, virtual, stop, on_start):
        os.kill(os.getpid(), signal.SIGINT)
        with anyio.fail_after(30):
            await stop.wait()
        return "drained"

    loomlite.session.run_session = interrupted_session
    console = Console(stderr=True)
    print(anyio.run(up._run, None, False, False, console, None))
    """
)


def test_first_sigint_at_start_drains() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )

    assert "KeyboardInterrupt" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "drained"


# The stand-in session sends SIGINT twice and then never finishes, as a
# drain that hangs would. The second signal must end the command at once.
_TWICE_SCRIPT = textwrap.dedent(
    """
    import os
    import signal
    import sys

    import anyio

    import loomlite.session
    from loomlite.cli import main

    async def hanging_session(settings, *, virtual, stop, on_start):
        os.kill(os.getpid(), signal.SIGINT)
        with anyio.fail_after(30):
            await stop.wait()
        os.kill(os.getpid(), signal.SIGINT)
        with anyio.fail_after(30):
            await anyio.sleep_forever()

    loomlite.session.run_session = hanging_session
    main(["up", "--profile", "ci", "--no-panel", "--state-dir", sys.argv[1]])
    """
)


def test_second_sigint_aborts_cleanly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _TWICE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )

    assert result.returncode == 130, result.stderr[-2000:]
    assert "interrupted twice: stopped without draining" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "unhandled exception" not in result.stderr
