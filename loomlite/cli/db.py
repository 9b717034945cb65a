"""``loomlite db``: create, migrate and inspect the sink's database schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import click

from loomlite.errors import LoomliteError
from loomlite.sink import migrate
from loomlite.sink.engine import display_url

T = TypeVar("T")

DEFAULT_URL = "sqlite:///loomlite.db"

_db_option = click.option(
    "--db",
    "url",
    envvar="LOOMLITE_DB",
    default=DEFAULT_URL,
    show_default=True,
    metavar="URL",
    help=(
        "Database URL or SQLite file path; the LOOMLITE_DB environment "
        "variable sets it too."
    ),
)


def _run(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a migrate coroutine and turn loomlite errors into a one-line exit."""
    try:
        return anyio.run(function, *args)
    except LoomliteError as exc:
        raise click.ClickException(str(exc)) from exc


def _name(revision: str | None) -> str:
    return revision or "base (empty schema)"


@click.group()
def db() -> None:
    """Create, migrate and inspect the database schema.

    Alembic owns the schema; these commands apply the revisions shipped
    inside loomlite to a SQLite file or a Postgres database.
    """


@db.command()
@click.argument("revision", default="head")
@_db_option
def upgrade(revision: str, url: str) -> None:
    """Upgrade the schema to REVISION (default: head, the newest)."""
    change = _run(migrate.upgrade, url, revision)
    _report(url, change)


@db.command()
@click.argument("revision")
@_db_option
def downgrade(revision: str, url: str) -> None:
    """Downgrade the schema to REVISION; 'base' removes every sink table."""
    change = _run(migrate.downgrade, url, revision)
    _report(url, change)


@db.command()
@click.argument("revision")
@_db_option
def stamp(revision: str, url: str) -> None:
    """Record REVISION as the schema's revision without changing any table.

    For a database whose tables loomlite made but whose revision record is
    missing: 'loomlite db stamp head' and then 'loomlite db check' tell
    whether the tables match.
    """
    change = _run(migrate.stamp, url, revision)
    _report(url, change)


@db.command()
@_db_option
def current(url: str) -> None:
    """Print the schema revision of the database."""
    revision = _run(migrate.current, url)
    newest = migrate.head()
    note = " (newest)" if revision == newest else f" (newest is {newest})"
    click.echo(f"{display_url(url)}: {_name(revision)}{note}")


@db.command()
@_db_option
def check(url: str) -> None:
    """Compare the schema with the topic catalog; exit 1 when they differ.

    Tables that no loomlite revision made are listed and left alone.
    """
    found = _run(migrate.check, url)
    safe_url = display_url(url)
    foreign = [item for item in found if migrate.is_foreign_table(item)]
    differences = [item for item in found if not migrate.is_foreign_table(item)]
    if foreign:
        names = ", ".join(sorted(item[1].name for item in foreign))
        click.echo(f"{safe_url}: tables not made by loomlite, left alone: {names}")
    if not differences:
        click.echo(f"{safe_url}: the schema matches the catalog")
        return
    count = len(differences)
    click.echo(f"{safe_url}: the schema differs from the catalog in {count} place(s):")
    for difference in differences:
        click.echo(f"  {migrate.describe_difference(difference)}")
    click.echo("run 'loomlite db upgrade', or add a revision for the catalog change")
    raise SystemExit(1)


def _report(url: str, change: migrate.RevisionChange) -> None:
    safe_url = display_url(url)
    if change.before == change.after:
        click.echo(f"{safe_url}: already at {_name(change.after)}")
        return
    click.echo(f"{safe_url}: {_name(change.before)} -> {_name(change.after)}")
