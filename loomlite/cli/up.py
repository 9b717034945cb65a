"""``loomlite up``: run the whole pipeline with simulated devices."""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import click
from anyio.abc import TaskStatus
from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler

from loomlite.cli.params import ADDRESS, DURATION, SPEED
from loomlite.errors import ConfigurationError, LoomliteError

__all__ = ["up"]

logger = logging.getLogger("loomlite.cli.up")


def _configure_logging(level: str, console: Console) -> None:
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    logging.basicConfig(
        level=level, handlers=[handler], format="%(message)s", force=True
    )
    if logging.getLevelName(level) > logging.DEBUG:
        # loomlite logs each schema change in one line of its own, so
        # Alembic's plugin and context lines show only at DEBUG.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _overrides(
    *,
    db_url: str | None,
    duration: timedelta | None,
    speed: float | str | None,
    seed: int | None,
    state_dir: Path | None,
    log_level: str | None,
    http: tuple[str, int] | None = None,
) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if http is not None:
        overrides["http"] = {"enabled": True, "host": http[0], "port": http[1]}
    if state_dir is not None:
        overrides["state_dir"] = state_dir
    if db_url is not None:
        overrides["db_url"] = db_url
    if duration is not None:
        overrides["duration"] = duration
    if isinstance(speed, float):
        overrides["speed"] = speed
        overrides["clock"] = "real" if speed == 1.0 else "accelerated"
    if seed is not None:
        overrides["seed"] = seed
    if log_level is not None:
        overrides["log_level"] = log_level.upper()
    return overrides


@click.command()
@click.option(
    "--profile",
    default="demo",
    show_default=True,
    help=(
        "Profile name from profiles/ (minimal, demo, full, ci, gateway, "
        "real-models, bench-phone-day) or a TOML file path."
    ),
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Database URL (sqlite:///file.db or postgresql://...); "
    "default: sqlite:///<state-dir>/loomlite.db.",
)
@click.option(
    "--duration",
    type=DURATION,
    help="Event time to simulate, e.g. 90s, 15m, 1h30m, 1d; "
    "default: the profile's, else until Ctrl-C.",
)
@click.option(
    "--speed",
    type=SPEED,
    help="Virtual seconds per real second (1 is real time), or 'max' to run "
    "as fast as the pipeline goes; default: the profile's.",
)
@click.option(
    "--seed",
    type=int,
    help=(
        "Seed of the simulators. The same seed gives the same data at "
        "--speed max; at a real-time factor a loaded machine can make the "
        "simulators skip ticks, and they log a warning when they do."
    ),
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the database, the durable broker log and statistics.json.",
)
@click.option(
    "--panel/--no-panel",
    default=None,
    help="Show the live panel; default: only when the output is a terminal.",
)
@click.option(
    "--http",
    type=ADDRESS,
    metavar="HOST:PORT",
    help="Serve the production ingestion API on this address, e.g. "
    "127.0.0.1:8000; default: the profile's [http] table (off unless set).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log level; default: the profile's.",
)
def up(
    profile: str,
    db_url: str | None,
    duration: timedelta | None,
    speed: float | str | None,
    seed: int | None,
    state_dir: Path | None,
    panel: bool | None,
    log_level: str | None,
    http: tuple[str, int] | None,
) -> None:
    """Run every loomlite component with simulated devices.

    Phones, a desktop and the fetchers' accounts emit production-shaped data;
    ingest, ai, enrich, external, persist and monitor process it into the
    database. Ctrl-C, or the end of --duration, drains the broker, flushes the
    database and prints a summary: messages per topic, rows per table, errors
    and ground-truth scores. The summary is also written to
    <state-dir>/summary.json.

    Example: loomlite up --profile demo --duration 1h --speed max --seed 7
    """
    from loomlite.runtime.profiles import load_settings

    stdout_console = Console()
    show_panel = stdout_console.is_terminal if panel is None else panel
    virtual = speed == "max"
    overrides = _overrides(
        db_url=db_url,
        duration=duration,
        speed=speed,
        seed=seed,
        state_dir=state_dir,
        log_level=log_level,
        http=http,
    )
    if show_panel:
        overrides.setdefault("components", {})["monitor"] = {"status_log": False}
    try:
        settings = load_settings(
            profile, overrides_label="command-line options", **overrides
        )
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    if speed is None and settings.clock == "manual":
        # A profile on a manual clock (such as ci) runs on virtual time.
        virtual = True
    if virtual and settings.duration is None:
        raise click.UsageError("--speed max needs --duration (or a profile duration)")

    if settings.http.enabled and settings.components.ingest.enabled:
        settings = _prepare_gateway(settings, stdout_console)

    console = Console(stderr=True)
    _configure_logging(settings.log_level, console)
    from loomlite._allocator import fix_mmap_threshold, limit_arenas

    fix_mmap_threshold()
    limit_arenas()
    try:
        report = anyio.run(_run, settings, virtual, show_panel, console, speed)
    except KeyboardInterrupt:
        console.print("[red]interrupted twice: stopped without draining[/]")
        sys.exit(130)
    except (LoomliteError, BaseExceptionGroup) as exc:
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(_AbortRequested):
            console.print("[red]interrupted twice: stopped without draining[/]")
            sys.exit(130)
        error = _loomlite_error(exc)
        if error is None:
            raise
        raise click.ClickException(str(error)) from None

    from loomlite.cli.panel import render_summary

    render_summary(report, stdout_console)
    summary_path = settings.state_dir / "summary.json"
    summary_path.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    stdout_console.print(f"[dim]summary written to {summary_path}[/]")


def _prepare_gateway(settings: Any, console: Console) -> Any:
    """Check that the gateway's address is free and print where it listens.

    A generated API key is printed here, on the command's output, and never
    logged.
    """
    from pydantic import SecretStr

    from loomlite.gateway.auth import resolve_api_key
    from loomlite.gateway.server import open_socket

    http = settings.http
    try:
        open_socket(http.host, http.port).close()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    key, generated = resolve_api_key(settings)
    host = f"[{http.host}]" if ":" in http.host else http.host
    # soft_wrap keeps each line whole, so that the key can be copied from it.
    if http.port:
        where = f"http://{host}:{http.port}"
    else:
        where = f"{host}, on a free port that the log names"
    console.print(f"HTTP gateway: {where} (OpenAPI at /docs)", soft_wrap=True)
    if generated:
        note = "generated; set LOOMLITE_API_KEY to choose one"
        console.print(f"API key ({note}): {key}", soft_wrap=True)
        return settings.model_copy(update={"api_key": SecretStr(key)})
    console.print(
        "API key: the value of the api_key setting (LOOMLITE_API_KEY)", soft_wrap=True
    )
    return settings


class _AbortRequested(Exception):
    """Raised on the second Ctrl-C or SIGTERM to stop without draining.

    It is an Exception, not KeyboardInterrupt, because asyncio logs a
    KeyboardInterrupt that escapes a task with a traceback at shutdown.
    """


def _loomlite_error(error: BaseException) -> LoomliteError | None:
    """Return the LoomliteError inside ``error``, unwrapping task-group groups."""
    if isinstance(error, LoomliteError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _loomlite_error(inner)
            if found is not None:
                return found
    return None


async def _run(
    settings: Any, virtual: bool, show_panel: bool, console: Console, speed: Any
) -> Any:
    stop = anyio.Event()
    live: Live | None = None

    def on_start(runtime: Any, clock: Any, persist: Any) -> None:
        nonlocal live
        from loomlite._collector import freeze_startup_objects

        freeze_startup_objects()
        logger.info(
            "pipeline running: profile %s, database %s",
            settings.profile or "default",
            settings.db_url,
        )
        if not show_panel:
            return
        # Imported only here, because a run without the panel needs none of
        # its rich tables until the summary.
        from loomlite.cli.panel import StatusPanel

        start = clock.now()
        until = start + settings.duration if settings.duration else None
        shown_speed = "max" if virtual else f"{settings.speed:g}x"
        status = StatusPanel(
            runtime, clock, persist.sink_statistics, start, until, shown_speed
        )
        live = Live(status, console=console, refresh_per_second=4, transient=True)
        live.start()

    async with anyio.create_task_group() as group:

        async def watch_signals(*, task_status: TaskStatus[None]) -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                task_status.started()
                async for _ in signals:
                    if stop.is_set():
                        raise _AbortRequested
                    logger.warning(
                        "stop requested: draining (press Ctrl-C again to abort)"
                    )
                    stop.set()

        # Until the receiver is open, asyncio's own SIGINT handler would turn
        # a first Ctrl-C into a KeyboardInterrupt without draining, so it
        # opens before the session's modules are imported.
        await group.start(watch_signals)
        from loomlite.session import run_session

        try:
            report = await run_session(
                settings, virtual=virtual, stop=stop, on_start=on_start
            )
        finally:
            if live is not None:
                live.stop()
        group.cancel_scope.cancel()
    return report
