"""Alembic migrations of the sink's schema, run without an alembic.ini.

The revisions live in ``loomlite/sink/migrations/versions``. Every function
here opens its own engine through ``create_engine`` (so SQLite gets the same
pragmas and ``BEGIN IMMEDIATE`` as the sink), runs Alembic on one connection
inside one transaction, and disposes the engine afterwards. They are
coroutines; a synchronous caller such as the CLI runs them with
``anyio.run``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from loomlite.errors import SinkError
from loomlite.sink.engine import create_engine, describe_error, display_url
from loomlite.sink.tables import build_metadata

__all__ = [
    "MIGRATIONS_DIR",
    "RevisionChange",
    "alembic_config",
    "check",
    "current",
    "describe_difference",
    "downgrade",
    "generate_revision",
    "head",
    "include_object",
    "upgrade",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RevisionChange:
    """The schema revision of a database before and after a command; None is
    the empty schema (Alembic's ``base``)."""

    before: str | None
    after: str | None


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out the durable broker's ``broker_*`` tables, which share the
    SQLite file but are not part of the sink's schema."""
    return not (type_ == "table" and name is not None and name.startswith("broker_"))


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic configuration; ``connection`` is the one env.py uses."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Revision ids name their change (0002_content_hash), so the file name is
    # the id alone.
    config.set_main_option("file_template", "%%(rev)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str | None:
    """Return the newest revision of the script directory."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str | Path, revision: str = "head") -> RevisionChange:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    return await _change(url, "upgrading", revision, command.upgrade)


async def downgrade(url: str | Path, revision: str) -> RevisionChange:
    """Downgrade the database at ``url`` to ``revision``; ``base`` empties it."""
    return await _change(url, "downgrading", revision, command.downgrade)


async def current(url: str | Path) -> str | None:
    """Return the database's revision, or None when no revision is applied."""
    return await _run(url, "reading the revision", _current_revision)


async def check(url: str | Path) -> list[Any]:
    """Compare the database with ``build_metadata()`` and return the
    differences that autogenerate finds; the list is empty when in sync."""
    return await _run(url, "comparing the schema", _differences)


def describe_difference(difference: Any) -> str:
    """Describe one entry of ``check``'s list, e.g. ``add column t.c``."""
    if isinstance(difference, list):
        return "; ".join(describe_difference(item) for item in difference)
    operation, *details = difference
    action = operation.replace("_", " ")
    if operation in ("add_table", "remove_table"):
        return f"{action} {details[0].name}"
    if operation in ("add_column", "remove_column"):
        _schema, table, column = details
        return f"{action} {table}.{column.name}"
    if operation.startswith(("add_", "remove_")):
        item = details[0]
        columns = ", ".join(column.name for column in item.columns)
        return f"{action} {item.name} on {item.table.name} ({columns})"
    if operation.startswith("modify_"):
        _schema, table, column, _info, old, new = details
        return f"{action} {table}.{column}: {old!r} -> {new!r}"
    return repr(difference)


async def generate_revision(url: str | Path, message: str, revision_id: str) -> Path:
    """Write a new revision file that autogenerate derives from the difference
    between the database at ``url`` (upgraded to head first) and
    ``build_metadata()``, and return its path. Read and tidy the file before
    committing it: autogenerate misses renames and server defaults.
    """
    await upgrade(url)

    def generate(connection: Connection) -> Path:
        config = alembic_config(connection)
        script = command.revision(
            config, message=message, autogenerate=True, rev_id=revision_id
        )
        assert script is not None and not isinstance(script, list)
        return Path(script.path)

    return await _run(url, f"generating revision {revision_id!r}", generate)


async def _change(
    url: str | Path,
    action: str,
    revision: str,
    run_command: Callable[[Config, str], None],
) -> RevisionChange:
    def change(connection: Connection) -> RevisionChange:
        before = _current_revision(connection)
        run_command(alembic_config(connection), revision)
        return RevisionChange(before, _current_revision(connection))

    result = await _run(url, f"{action} to revision {revision!r}", change)
    logger.info(
        "%s %s: %s -> %s",
        action,
        display_url(str(url)),
        result.before or "base",
        result.after or "base",
    )
    return result


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_object": include_object},
    )
    differences: list[Any] = compare_metadata(context, build_metadata())
    return differences


async def _run(url: str | Path, action: str, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a sync connection inside one transaction."""
    engine = create_engine(url)
    safe_url = display_url(engine.url)
    try:
        connection = await _connect(engine, safe_url)
        try:
            async with connection.begin():
                return await connection.run_sync(work)
        except (CommandError, SQLAlchemyError) as exc:
            reason = describe_error(exc)
            raise SinkError(f"{action} failed for {safe_url!r}: {reason}") from exc
        finally:
            await connection.close()
    finally:
        await engine.dispose()


async def _connect(engine: AsyncEngine, safe_url: str) -> AsyncConnection:
    try:
        return await engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        raise SinkError(
            f"cannot connect to the database {safe_url!r}: {describe_error(exc)}"
        ) from exc
