"""``loomlite eval``: score the model backends against fixtures with ground truth."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from types import ModuleType
from typing import Any, Final

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from loomlite.errors import ConfigurationError
from loomlite.evaluation.score import Score

__all__ = ["EVALUATION_MODULES", "evaluate_command", "run_evaluations"]

logger = logging.getLogger(__name__)

EVALUATION_MODULES: Final = ("audio", "vision", "text", "geo")
"""Modules of ``loomlite.evaluation`` that ``eval`` runs when they exist."""


def _available_modules() -> list[ModuleType]:
    modules = []
    for name in EVALUATION_MODULES:
        qualified = f"loomlite.evaluation.{name}"
        if importlib.util.find_spec(qualified) is None:
            logger.debug("no evaluation module %s", qualified)
            continue
        modules.append(importlib.import_module(qualified))
    return modules


def run_evaluations(
    stages: Sequence[str] = (), backends: Sequence[str] | None = None
) -> list[Score]:
    """Run every evaluation module and return the scores of ``stages`` (all if empty).

    A module that declares ``STAGES`` and covers none of ``stages`` is not run.
    """
    scores: list[Score] = []
    for module in _available_modules():
        covered = getattr(module, "STAGES", None)
        if stages and covered is not None and not set(stages) & set(covered):
            continue
        results: list[Score] = module.evaluate(backends)
        scores += [score for score in results if not stages or score.stage in stages]
    return scores


def _check_names(stages: Sequence[str], backends: Sequence[str]) -> None:
    """Raise click.BadParameter for a stage or backend that no evaluation
    module scores, so that a typo does not pass as a missing extra."""
    from loomlite.components.ai.backends import backend_names

    known_stages = sorted(
        {stage for module in _available_modules() for stage in module.STAGES}
    )
    for stage in stages:
        if stage not in known_stages:
            raise click.BadParameter(
                f"unknown stage {stage!r}; expected one of {', '.join(known_stages)}",
                param_hint="'--stage'",
            )
    known_backends = sorted(
        {name for stage in known_stages for name in backend_names(stage)}
    )
    for backend in backends:
        if backend not in known_backends:
            raise click.BadParameter(
                f"unknown backend {backend!r}; expected one of "
                f"{', '.join(known_backends)}",
                param_hint="'--backend'",
            )


def _score_json(score: Score) -> dict[str, Any]:
    document = asdict(score)
    document["passed"] = score.passed
    return document


def _render(scores: Sequence[Score], console: Console) -> None:
    table = Table(title="backend evaluation", title_justify="left")
    table.add_column("stage", no_wrap=True)
    table.add_column("backend", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("items", justify="right", no_wrap=True)
    table.add_column("seconds", justify="right", no_wrap=True)
    for score in scores:
        if score.threshold is None:
            target = "-"
        else:
            sign = ">=" if score.higher_is_better else "<="
            target = f"{sign} {score.threshold:g}"
        if score.passed is None:
            result = Text("-", style="dim")
        elif score.passed:
            result = Text("pass", style="green")
        else:
            result = Text("FAIL", style="bold red")
        table.add_row(
            score.stage,
            score.backend,
            score.metric,
            f"{score.value:.4f}",
            target,
            result,
            str(score.items),
            f"{score.seconds:.1f}",
        )
    console.print(table)


@click.command("eval")
@click.option(
    "--stage",
    "stages",
    multiple=True,
    help="Score only this stage (vad, stt, ocr, embed, geocode, ...); repeatable.",
)
@click.option(
    "--backend",
    "backends",
    multiple=True,
    help="Score only this backend name, such as silero; repeatable. A named "
    "backend whose extra is missing is an error; without this option such "
    "backends are skipped.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def evaluate_command(
    stages: tuple[str, ...], backends: tuple[str, ...], as_json: bool
) -> None:
    """Score each model backend against the fixtures with known ground truth.

    Prints one row per backend and metric: VAD frame agreement, word error
    rate, OCR character accuracy and the other stages' metrics. Exits with
    status 1 when a score misses its target.
    """
    _check_names(stages, backends)
    try:
        scores = run_evaluations(stages, backends or None)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    if not scores:
        raise click.ClickException(
            "no backend was scored; check --stage and --backend, and install the "
            "model extras with: pip install 'loomlite[models]'"
        )
    if as_json:
        click.echo(json.dumps([_score_json(score) for score in scores], indent=2))
    else:
        console = Console()
        if not console.is_terminal:
            # A pipe or file gets rich's default 80 columns, which would fold
            # every row of the table; its full width is about 110.
            console = Console(width=120)
        _render(scores, console)
    failed = [score for score in scores if score.passed is False]
    if failed:
        names = ", ".join(f"{score.stage}/{score.backend}" for score in failed)
        click.echo(f"{len(failed)} score(s) missed the target: {names}", err=True)
        raise SystemExit(1)
