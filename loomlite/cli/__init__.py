"""The ``loomlite`` command line.

Each command group lives in its own module and is registered on ``main`` below.
"""

from __future__ import annotations

import importlib

import click

from loomlite import __version__

# (module, attribute) of every command; imported lazily so that '--help' and
# light commands do not pay for the heavy ones.
_COMMANDS: dict[str, tuple[str, str]] = {}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _COMMANDS:
            module_name, attribute = _COMMANDS[name]
            module = importlib.import_module(module_name)
            command: click.Command = getattr(module, attribute)
            return command
        return super().get_command(ctx, name)


def register(name: str, module: str, attribute: str) -> None:
    """Register command ``name`` as ``attribute`` of ``module``."""
    _COMMANDS[name] = (module, attribute)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="loomlite")
def main() -> None:
    """Run the Loom personal-informatics pipeline in one process.

    loomlite replaces Kafka with an in-process broker, TimescaleDB with SQLite
    or Postgres, and the production services with six components.
    """


register("up", "loomlite.cli.up", "up")
register("topics", "loomlite.cli.topics", "topics")
register("schemas", "loomlite.cli.topics", "schemas")
register("db", "loomlite.cli.db", "db")
register("bench", "loomlite.cli.bench", "bench")
register("tail", "loomlite.cli.logs", "tail")
register("record", "loomlite.cli.logs", "record")
register("seek", "loomlite.cli.logs", "seek")
register("replay", "loomlite.cli.replay", "replay")
register("redrive", "loomlite.cli.redrive", "redrive")
register("eval", "loomlite.cli.evaluate", "evaluate_command")
register("tui", "loomlite.cli.tui", "tui")
