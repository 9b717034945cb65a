"""``loomlite bench``: measure the speed and memory targets."""

from __future__ import annotations

import json
import sys

import anyio
import click
from rich.console import Console
from rich.table import Table

from loomlite.benchmarks import (
    BENCHMARKS,
    BenchmarkResult,
    describe_machine,
    run_benchmarks,
)
from loomlite.errors import LoomliteError


def _format_rate(value: float | None) -> str:
    if value is None:
        return "-"
    # Seconds and megabytes need their decimals; rates of thousands do not.
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _render(results: list[BenchmarkResult], console: Console) -> None:
    table = Table(title="loomlite bench")
    table.add_column("benchmark")
    table.add_column("loomlite", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("unit")
    table.add_column("ratio", justify="right")
    table.add_column("target", justify="right")
    table.add_column("result")
    for result in results:
        ratio = "-" if result.ratio is None else f"{result.ratio:.2f}"
        sign = "≥" if result.higher_is_better else "≤"
        verdict = "[green]met[/]" if result.passed else "[red]missed[/]"
        table.add_row(
            result.name,
            _format_rate(result.subject),
            _format_rate(result.baseline),
            result.unit,
            ratio,
            f"{sign} {result.target:g}",
            verdict,
        )
    console.print(table)
    for result in results:
        console.print(f"[dim]{result.name}: {result.description}[/]")


@click.command()
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(sorted(BENCHMARKS)),
    help="Run only this benchmark; repeat the option to pick several.",
)
@click.option(
    "--repeats",
    default=3,
    show_default=True,
    type=click.IntRange(1, 20),
    help="Runs of each subject and baseline; the median of each is reported "
    "(for memory, the highest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with status 1 when any target is missed.",
)
def bench(only: tuple[str, ...], repeats: int, as_json: bool, strict: bool) -> None:
    """Measure loomlite's speed and memory targets.

    The broker and sink targets are ratios against a baseline measured in this
    run (for example the broker against a bare asyncio.Queue), so results
    compare across machines. Each subject and baseline run REPEATS times,
    alternating. first_row, memory and phone_day run 'loomlite up' REPEATS
    times in a child process and compare seconds or MB with the target, so
    they depend on the machine and its load.
    """
    names = list(only) or list(BENCHMARKS)
    console = Console(stderr=as_json)
    console.print(f"running {', '.join(names)} ({repeats} repeats each)...")
    try:
        results = anyio.run(lambda: run_benchmarks(names, repeats=repeats))
    except LoomliteError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        payload = {
            "machine": describe_machine(),
            "results": [result.as_dict() for result in results],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        machine = describe_machine()
        console.print(
            f"[dim]{machine['cpu']}, {machine['cores']} cores, "
            f"{machine['memory']}, {machine['python']}[/]"
        )
        _render(results, console)
    if strict and not all(result.passed for result in results):
        sys.exit(1)
