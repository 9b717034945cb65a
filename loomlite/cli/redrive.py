"""``loomlite redrive``: send failed records back to their source topics."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from loomlite.cli.logs import STATE_DIR_OPTION, open_state_broker, run_command

__all__ = ["redrive"]


@click.command()
@click.argument("error_topic")
@click.option(
    "--message-id",
    "message_ids",
    multiple=True,
    help="message_id of a ProcessingError to handle; repeat for several "
    "(default: every pending one).",
)
@click.option(
    "--discard", is_flag=True, help="Drop the records instead of redriving them."
)
@click.option(
    "--list", "list_only", is_flag=True, help="List pending records and change nothing."
)
@STATE_DIR_OPTION
def redrive(
    error_topic: str,
    message_ids: tuple[str, ...],
    discard: bool,
    list_only: bool,
    state_dir: Path,
) -> None:
    """Publish each pending record of ERROR_TOPIC again to its source topic.

    Each record keeps its key, headers and event time, and the error topic is
    committed for the 'loomlite.redrive' group, so a record is redriven once.
    The next runtime on the state directory consumes the records; one that
    fails again lands in ERROR_TOPIC with its new exception.
    """
    if list_only:
        entries = run_command(lambda: _pending(error_topic, state_dir))
        for entry in entries:
            click.echo(_describe(entry))
        click.echo(f"{len(entries)} pending record(s)")
        return
    result = run_command(
        lambda: _handle(error_topic, message_ids or None, discard, state_dir)
    )
    for message_id, metadata in result.redriven.items():
        click.echo(
            f"redrove {message_id} to {metadata.topic}[{metadata.partition}]"
            f"@{metadata.offset}"
        )
    for message_id in result.discarded:
        click.echo(f"discarded {message_id}")
    for problem in result.problems:
        click.echo(f"left pending: {problem}", err=True)
    click.echo(
        f"{len(result.redriven)} redriven, {len(result.discarded)} discarded, "
        f"{result.pending} pending in {result.error_topic}"
    )
    handled = set(result.redriven) | set(result.discarded)
    missing = [message_id for message_id in message_ids if message_id not in handled]
    for message_id in missing:
        click.echo(
            f"message id {message_id!r} is not a pending record of "
            f"{result.error_topic}, so it was left alone. Run 'loomlite redrive "
            f"{result.error_topic} --list' to see the pending ones.",
            err=True,
        )
    if missing:
        sys.exit(1)


def _describe(entry: Any) -> str:
    position = entry.position
    where = f"{position.topic}[{position.partition}]@{position.offset}"
    error = entry.error
    if error is None:
        return f"{where} invalid: {entry.problem}"
    return (
        f"{where} {error.message_id} {error.source_topic} "
        f"{error.error_type}: {error.error_message}"
    )


async def _pending(error_topic: str, state_dir: Path) -> list[Any]:
    from loomlite.runtime.redrive import pending_errors

    async with open_state_broker(state_dir) as broker:
        return await pending_errors(broker, error_topic)


async def _handle(
    error_topic: str,
    message_ids: tuple[str, ...] | None,
    discard: bool,
    state_dir: Path,
) -> Any:
    from loomlite.runtime import redrive as core

    async with open_state_broker(state_dir) as broker:
        if discard:
            return await core.discard(broker, error_topic, message_ids=message_ids)
        return await core.redrive(broker, error_topic, message_ids=message_ids)
