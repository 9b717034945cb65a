"""``loomlite tui``: the Textual app that inspects a pipeline."""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from loomlite.cli.params import DURATION, SPEED
from loomlite.errors import ConfigurationError

if TYPE_CHECKING:
    from loomlite.runtime.settings import LoomliteSettings

__all__ = ["tui"]


def _require_finite(
    context: click.Context, parameter: click.Parameter, value: float
) -> float:
    # FloatRange lets NaN and infinity through, and no refresh timer can run
    # at either interval. With NaN the screen stayed blank and ignored q.
    if not math.isfinite(value):
        raise click.BadParameter(
            f"{value!r} is invalid: expected a finite number of seconds"
        )
    return value


@click.command()
@click.option(
    "--profile",
    help="Run this profile in-process, as 'loomlite up' does (default: demo).",
)
@click.option(
    "--attach",
    "attach",
    metavar="STATE_DIR",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Attach to a 'loomlite up' running in another terminal with this "
    "--state-dir; reads its statistics, broker file and database read-only.",
)
@click.option("--db", "db_url", metavar="URL", help="Database URL of the run.")
@click.option("--duration", type=DURATION, help="Event time to simulate, e.g. 1h.")
@click.option(
    "--speed",
    type=SPEED,
    help="Virtual seconds per real second, or 'max'; default: the profile's.",
)
@click.option("--seed", type=int, help="Seed of the simulators.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="State directory of the in-process run.",
)
@click.option(
    "--refresh",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    callback=_require_finite,
    help="Seconds between screen refreshes.",
)
def tui(
    profile: str | None,
    attach: Path | None,
    db_url: str | None,
    duration: timedelta | None,
    speed: float | str | None,
    seed: int | None,
    state_dir: Path | None,
    refresh: float,
) -> None:
    """Inspect a pipeline: topology, topics, messages, traces, errors, sink.

    Without --attach the pipeline runs in this process with the profile's
    simulated devices, and quitting (q) drains it and flushes the database.
    With --attach STATE_DIR the TUI reads a 'loomlite up' that runs in
    another terminal; start that one with LOOMLITE_BROKER=durable to browse
    its messages. Logs go to <state-dir>/tui.log.

    Example: loomlite tui --profile demo --speed max --duration 2h
    """
    from loomlite.sink.engine import database_url
    from loomlite.tui.app import LoomliteApp, SessionOptions
    from loomlite.tui.source import AttachSource

    if attach is not None:
        if profile or duration or speed or seed is not None or state_dir:
            raise click.UsageError(
                "--attach reads a run from its state directory; it takes no "
                "--profile, --duration, --speed, --seed or --state-dir"
            )
        _log_to(attach / "tui.log")
        source = AttachSource(attach, db_url=db_url)
        LoomliteApp(source, refresh_interval=refresh).run()
        return

    settings, virtual = _settings(profile, db_url, duration, speed, seed, state_dir)
    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(
            f"cannot create state directory '{settings.state_dir}': "
            f"{exc.strerror or exc}; choose a writable path with --state-dir"
        ) from None
    # Checked before the app starts, so a bad URL ends the command with the
    # error instead of leaving an app whose pipeline never started.
    try:
        database_url(settings.db_url)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    _log_to(settings.state_dir / "tui.log")
    session = SessionOptions(settings, virtual=virtual)
    app = LoomliteApp(session=session, refresh_interval=refresh)
    app.run()
    if app.session_error is not None:
        raise click.ClickException(str(app.session_error))


def _settings(
    profile: str | None,
    db_url: str | None,
    duration: timedelta | None,
    speed: float | str | None,
    seed: int | None,
    state_dir: Path | None,
) -> tuple[LoomliteSettings, bool]:
    from loomlite.cli.up import _overrides
    from loomlite.runtime.profiles import load_settings

    overrides = _overrides(
        db_url=db_url,
        duration=duration,
        speed=speed,
        seed=seed,
        state_dir=state_dir,
        log_level=None,
    )
    # The TUI shows the status itself; the monitor's log line would only
    # fill the log file.
    overrides.setdefault("components", {})["monitor"] = {"status_log": False}
    try:
        settings = load_settings(
            profile or "demo", overrides_label="command-line options", **overrides
        )
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    virtual = speed == "max" or (speed is None and settings.clock == "manual")
    if virtual and settings.duration is None:
        raise click.UsageError("--speed max needs --duration (or a profile duration)")
    return settings, virtual


def _log_to(path: Path) -> None:
    """Send log records to ``path``: the terminal belongs to the app."""
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the log file '{path}': {exc.strerror or exc}; the "
            "TUI logs there because the terminal belongs to the app"
        ) from None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
