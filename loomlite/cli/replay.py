"""``loomlite replay``: publish a recording again, with its original event times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import click

from loomlite.cli.logs import open_state_broker, run_command
from loomlite.cli.params import SPEED

__all__ = ["replay"]


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--speed",
    type=SPEED,
    default="max",
    show_default=True,
    help="Real-time factor of the gaps between messages, or 'max' for no waits.",
)
@click.option(
    "--rekey",
    is_flag=True,
    help="Key each message by its device_id instead of the recorded key.",
)
@click.option(
    "--into",
    type=click.Choice(["runtime", "log"]),
    default="runtime",
    show_default=True,
    help=(
        "'runtime' starts a new runtime that stores every message in the "
        "database; 'log' appends to the state directory's broker file, for the "
        "next 'loomlite up' there to consume."
    ),
)
@click.option(
    "--process",
    is_flag=True,
    help=(
        "With --into runtime, also run the ai and enrich components, which "
        "derive their topics again instead of replaying them."
    ),
)
@click.option(
    "--profile",
    default="ci",
    show_default=True,
    help="Settings profile of a new runtime.",
)
@click.option("--db", "db_url", help="Database URL (default: the state directory's).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("state"),
    show_default=True,
    envvar="LOOMLITE_STATE_DIR",
    help="State directory of the runtime or broker file.",
)
def replay(
    file: Path,
    speed: float | str,
    rekey: bool,
    into: str,
    process: bool,
    profile: str,
    db_url: str | None,
    state_dir: Path,
) -> None:
    """Publish the messages of a 'loomlite record' FILE again."""
    from loomlite.recording import read_recording, sorted_by_arrival

    if process and into == "log":
        raise click.UsageError(
            "--process works only with --into runtime, because --into log "
            "starts no components"
        )
    from loomlite.replay import invalid_messages

    try:
        messages = sorted_by_arrival(read_recording(file))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    problems = invalid_messages(messages)
    if problems:
        first_problems = "\n  ".join(problems[:5])
        more = f"\n  and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise click.ClickException(
            f"{len(problems)} message(s) of {file} do not match their topic's "
            f"model, so nothing was replayed:\n  {first_problems}{more}\n"
            "fix or remove those lines and replay again"
        )
    if into == "log":
        report = run_command(lambda: _into_log(messages, speed, rekey, state_dir))
    else:
        report = run_command(
            lambda: _into_runtime(
                messages, speed, rekey, process, profile, db_url, state_dir
            )
        )
    click.echo(f"replayed {report.published} message(s) from {file}")
    if rekey:
        click.echo(f"re-keyed {report.rekeyed} message(s) by their device_id")
    for topic, count in sorted(report.skipped.items()):
        click.echo(f"skipped {count} message(s) of {topic}")


async def _into_log(
    messages: Any, speed: float | str, rekey: bool, state_dir: Path
) -> Any:
    from loomlite.broker import DurableBroker
    from loomlite.broker.factory import DURABLE_FILE_NAME
    from loomlite.clock import ManualClock
    from loomlite.recording import INSPECTION_EPOCH
    from loomlite.replay import (
        check_speed,
        create_catalog_topics,
        replay_clock,
        replay_into_broker,
    )

    speed = check_speed(speed)
    path = state_dir / DURABLE_FILE_NAME
    if await anyio.Path(path).is_file():
        broker = open_state_broker(state_dir)
    else:
        await anyio.Path(state_dir).mkdir(parents=True, exist_ok=True)
        broker = DurableBroker(path, ManualClock(INSPECTION_EPOCH))
    async with broker:
        await create_catalog_topics(broker)
        if not messages:
            from loomlite.replay import ReplayReport

            return ReplayReport()
        return await replay_into_broker(
            broker,
            messages,
            clock=replay_clock(messages, speed),
            speed=speed,
            rekey=rekey,
        )


async def _into_runtime(
    messages: Any,
    speed: float | str,
    rekey: bool,
    process: bool,
    profile: str,
    db_url: str | None,
    state_dir: Path,
) -> Any:
    from loomlite.replay import replay_into_runtime
    from loomlite.runtime.profiles import load_settings

    overrides: dict[str, Any] = {"state_dir": state_dir}
    if db_url:
        overrides["db_url"] = db_url
    settings = load_settings(
        profile, overrides_label="command-line options", **overrides
    )
    await anyio.Path(state_dir).mkdir(parents=True, exist_ok=True)
    return await replay_into_runtime(
        messages, settings, speed=speed, rekey=rekey, process=process
    )
