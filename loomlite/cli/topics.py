"""``loomlite topics`` and ``loomlite schemas``: show and export the catalog."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from loomlite.contract import CATALOG, TopicKind, TopicSpec, export_schemas

__all__ = ["schemas", "topic_summary", "topics"]


def topic_summary(spec: TopicSpec) -> dict[str, Any]:
    """Return the JSON-ready summary of one topic that ``topics --json`` prints."""
    retention = spec.retention
    return {
        "name": spec.name,
        "kind": spec.kind.value,
        "aliases": list(spec.aliases),
        "model": spec.model.__name__,
        "version": spec.version,
        "retention": {
            "max_age_seconds": _seconds(retention.max_age),
            "max_records": retention.max_records,
            "max_bytes": retention.max_bytes,
        },
        "partitions": spec.partitions,
        "table": spec.table.name if spec.table else None,
        "natural_key": list(spec.table.natural_key) if spec.table else None,
        "not_persisted_reason": spec.not_persisted_reason,
        "description": spec.description,
    }


def _seconds(age: timedelta | None) -> int | None:
    return None if age is None else int(age.total_seconds())


def _describe_age(age: timedelta | None) -> str:
    if age is None:
        return "forever"
    if age.days and age == timedelta(days=age.days):
        return f"{age.days} d"
    return f"{age.total_seconds():g} s"


def _render(specs: list[TopicSpec], console: Console) -> None:
    table = Table(title=f"loomlite topics ({len(specs)})", show_lines=False)
    table.add_column("topic", overflow="fold")
    table.add_column("kind")
    table.add_column("aliases")
    table.add_column("model")
    table.add_column("retention", justify="right")
    table.add_column("partitions", justify="right")
    table.add_column("table or reason", overflow="fold")
    for spec in specs:
        if spec.table is not None:
            stored = spec.table.name
        else:
            stored = f"[dim]not stored: {spec.not_persisted_reason}[/]"
        table.add_row(
            spec.name,
            spec.kind.value,
            "\n".join(spec.aliases),
            f"{spec.model.__name__} v{spec.version}",
            _describe_age(spec.retention.max_age),
            str(spec.partitions),
            stored,
        )
    console.print(table)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([kind.value for kind in TopicKind]),
    help="Show only topics of this kind; repeat the option to pick several.",
)
def topics(as_json: bool, kinds: tuple[str, ...]) -> None:
    """List every topic of the catalog.

    Each canonical topic is shown with its kind and its aliases (the legacy
    names that resolve to it). Then come its model and schema version, how
    long the broker keeps its records, and its partition count. The last
    column is the database table that stores it, or the reason it is not
    stored. With --json, each topic also carries its natural key and
    description.
    """
    specs = [spec for spec in CATALOG if not kinds or spec.kind.value in kinds]
    if as_json:
        summaries = [topic_summary(spec) for spec in specs]
        click.echo(json.dumps(summaries, indent=2, ensure_ascii=False))
        return
    _render(specs, Console())


@click.group()
def schemas() -> None:
    """Work with the JSON Schemas of the topic models."""


@schemas.command("export", short_help="Write JSON Schema files to DIRECTORY.")
@click.argument(
    "directory", type=click.Path(file_okay=False, writable=True, path_type=Path)
)
def export(directory: Path) -> None:
    """Write a JSON Schema (draft 2020-12) file per topic and version to DIRECTORY.

    Files are laid out by topic name, e.g. device/sensor/gps/raw/v1.json,
    next to an index.json that lists every topic with its aliases and files.
    Existing files of the same name are overwritten.
    """
    try:
        written = export_schemas(directory)
    except OSError as exc:
        target = exc.filename or directory
        raise click.ClickException(
            f"cannot write schema files to '{target}': {exc.strerror or exc}; "
            "choose a writable DIRECTORY"
        ) from None
    click.echo(f"wrote {len(written) - 1} schema files and index.json to {directory}")
