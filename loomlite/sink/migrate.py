"""Alembic migrations of the sink's schema, run without an alembic.ini.

The revisions live in ``loomlite/sink/migrations/versions``. Every function
here opens its own engine through ``create_engine`` (so SQLite gets the same
pragmas and ``BEGIN IMMEDIATE`` as the sink), runs on one connection inside
one transaction, and disposes the engine afterwards. They are coroutines; a
synchronous caller such as the CLI runs them with ``anyio.run``.

``upgrade(url)`` to the newest revision takes two shortcuts that do not import
Alembic: importing it and running the first two revisions took about 1.5 s of
``loomlite up``'s start on a 2-core machine, the shortcuts about 0.4 s. A
database already at the newest revision is left as it is. An empty database
gets the newest schema from ``create_all`` of each ``schema_metadata()`` and
then a version row for the newest revision, as the Alembic cookbook's
"Building an Up to Date Database from Scratch" describes. The row is written
here, in a table laid out like Alembic 1.x's own, instead of by
``alembic stamp``, which would import Alembic. Every other case runs the
revisions. Both ways build the same tables, columns, keys, indexes and
constraints. Only the column order can differ, because a revision that adds
a column puts it last.
"""

from __future__ import annotations

import ast
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from loomlite.errors import SinkError
from loomlite.sink.direct import direct_path
from loomlite.sink.engine import (
    create_engine,
    create_sqlite_sync_engine,
    database_url,
    describe_error,
    describe_sqlite_open_error,
    display_url,
)
from loomlite.sink.schema import schema_metadata, schema_table_names

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
    "is_foreign_table",
    "stamp",
    "upgrade",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

VERSION_TABLE = "alembic_version"

T = TypeVar("T")

# The table in which Alembic stores the applied revision, with the column
# and primary key name that Alembic 1.x creates by default.
_version_table = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)

# A module-level ``revision = ...`` or ``down_revision = ...`` line of a
# revision file, with an optional type annotation.
_REVISION_LINE = re.compile(
    r"^(?P<name>revision|down_revision)\s*(?::[^=\n]*)?=\s*(?P<value>.+?)\s*$",
    re.MULTILINE,
)


# The table name in an ``op.create_table("name", ...)`` call of a revision.
_CREATE_TABLE = re.compile(r"create_table\(\s*[\"']([^\"']+)[\"']")


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
    from alembic.config import Config

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
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str | Path, revision: str = "head") -> RevisionChange:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest).

    With ``revision="head"``, a database at the newest revision is left
    alone and an empty one gets the newest schema in one ``create_all``. A
    revision given by its id always runs the revision scripts.
    """
    newest = _newest_revision() if revision == "head" else None
    if newest is not None:
        action = f"upgrading to revision {revision!r}"
        change = await _run(url, action, lambda c: _upgrade_directly(c, newest))
        if change is not None:
            _log_change(url, "upgrading", change)
            return change
    return await _change(url, "upgrading", revision, _alembic_upgrade)


async def downgrade(url: str | Path, revision: str) -> RevisionChange:
    """Downgrade the database at ``url`` to ``revision``; ``base`` empties it."""
    return await _change(url, "downgrading", revision, _alembic_downgrade)


async def stamp(url: str | Path, revision: str) -> RevisionChange:
    """Record ``revision`` as the database's revision without changing its
    tables, for a database whose sink tables were made without a record of
    the revision."""
    return await _change(url, "stamping", revision, _alembic_stamp)


async def current(url: str | Path) -> str | None:
    """Return the database's revision, or None when no revision is applied."""
    return await _run(url, "reading the revision", _current_revision, create=False)


async def check(url: str | Path) -> list[Any]:
    """Compare the database with ``schema_metadata()`` and return the
    differences that autogenerate finds; the list is empty when in sync."""
    return await _run(
        url, "comparing the schema", _differences, alembic=True, create=False
    )


def is_foreign_table(difference: Any) -> bool:
    """Tell whether an entry of ``check``'s list is a table that no loomlite
    revision made, such as a user's own table in the same database."""
    if isinstance(difference, list) or difference[0] != "remove_table":
        return False
    return difference[1].name not in _every_table_name()


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
    ``schema_metadata()``, and return its path. Read and tidy the file before
    committing it: autogenerate misses renames and server defaults.
    """
    await upgrade(url)

    def generate(connection: Connection) -> Path:
        from alembic import command

        config = alembic_config(connection)
        script = command.revision(
            config, message=message, autogenerate=True, rev_id=revision_id
        )
        assert script is not None and not isinstance(script, list)
        return Path(script.path)

    action = f"generating revision {revision_id!r}"
    return await _run(url, action, generate, alembic=True)


# -- the shortcuts without Alembic ---------------------------------------------


def _newest_revision() -> str | None:
    """Return the newest revision id read from the revision files' text.

    Returns None, so that the caller runs Alembic, when a file has no
    readable ``revision`` line or the files do not form a single head.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values = _revision_lines(path.read_text(encoding="utf-8"))
        revision = values.get("revision")
        if not isinstance(revision, str):
            logger.debug("no revision id found in %s", path)
            return None
        revisions.add(revision)
        parent = values.get("down_revision")
        if isinstance(parent, str):
            parents.add(parent)
        elif isinstance(parent, tuple | list):
            parents.update(str(item) for item in parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _revision_lines(source: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for match in _REVISION_LINE.finditer(source):
        try:
            values.setdefault(match["name"], ast.literal_eval(match["value"]))
        except (ValueError, SyntaxError):
            continue
    return values


def _upgrade_directly(connection: Connection, newest: str) -> RevisionChange | None:
    """Upgrade without Alembic when the database is at ``newest`` or empty.

    Returns None, with nothing changed, for any other database.
    """
    names = set(inspect(connection).get_table_names())
    if VERSION_TABLE in names:
        revision = _current_revision(connection)
        if revision == newest:
            return RevisionChange(newest, newest)
        return None
    if names & schema_table_names():
        # Sink tables without a recorded revision: only Alembic can tell
        # what to do, and it reports the clash.
        return None
    for metadata in schema_metadata():
        metadata.create_all(connection, checkfirst=False)
    _version_table.create(connection)
    connection.execute(_version_table.insert().values(version_num=newest))
    logger.debug("created %d tables at revision %s", len(schema_table_names()), newest)
    return RevisionChange(None, newest)


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(select(_version_table.c.version_num)).scalars().all()
    if len(rows) > 1:
        raise SinkError(
            f"invalid {VERSION_TABLE} table: it contains several revisions "
            f"{sorted(rows)!r}, but loomlite's revisions form a single line. "
            "Delete every row except the newest revision's"
        )
    return rows[0] if rows else None


# -- Alembic -------------------------------------------------------------------


def _alembic_upgrade(config: Config, revision: str) -> None:
    from alembic import command

    command.upgrade(config, revision)


def _alembic_stamp(config: Config, revision: str) -> None:
    from alembic import command

    command.stamp(config, revision)


def _reject_unrecorded_tables(connection: Connection, url: str | Path) -> None:
    """Raise SinkError when the database has sink tables but no recorded
    revision, because the first revision would fail on them with "table
    already exists"."""
    found = set(inspect(connection).get_table_names()) & schema_table_names()
    if not found:
        return
    example = min(found)
    raise SinkError(
        f"the database {display_url(str(url))!r} has {len(found)} of "
        f"loomlite's tables (such as {example!r}) but no recorded schema "
        f"revision (no {VERSION_TABLE} table). If this version of loomlite "
        "made them, record the newest revision with 'loomlite db stamp head' "
        "and run 'loomlite db check'; otherwise use another database"
    )


@functools.cache
def _every_table_name() -> frozenset[str]:
    """Names of the sink's tables now and of every table a revision created,
    read from ``create_table`` calls in the revision files."""
    names = set(schema_table_names())
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        names.update(_CREATE_TABLE.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


def _alembic_downgrade(config: Config, revision: str) -> None:
    from alembic import command

    command.downgrade(config, revision)


async def _change(
    url: str | Path,
    action: str,
    revision: str,
    run_command: Callable[[Config, str], None],
) -> RevisionChange:
    def change(connection: Connection) -> RevisionChange:
        before = _current_revision(connection)
        if before is None and run_command is _alembic_upgrade:
            _reject_unrecorded_tables(connection, url)
        run_command(alembic_config(connection), revision)
        return RevisionChange(before, _current_revision(connection))

    result = await _run(url, f"{action} to revision {revision!r}", change, alembic=True)
    _log_change(url, action, result)
    return result


def _log_change(url: str | Path, action: str, change: RevisionChange) -> None:
    logger.info(
        "%s %s: %s -> %s",
        action,
        display_url(str(url)),
        change.before or "base",
        change.after or "base",
    )


def _differences(connection: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_object": include_object},
    )
    # compare_metadata accepts a list of MetaData, as target_metadata does.
    metadata: Any = list(schema_metadata())
    differences: list[Any] = compare_metadata(context, metadata)
    return differences


def _translated_errors(alembic: bool) -> tuple[type[Exception], ...]:
    if not alembic:
        return (SQLAlchemyError,)
    from alembic.util.exc import CommandError

    return (CommandError, SQLAlchemyError)


async def _run(
    url: str | Path,
    action: str,
    work: Callable[[Connection], T],
    *,
    alembic: bool = False,
    create: bool = True,
) -> T:
    """Run ``work`` on a sync connection inside one transaction.

    Set ``alembic`` when ``work`` calls Alembic, so that Alembic's
    CommandError is translated to SinkError as well. Without ``create``, a
    SQLite file that does not exist raises SinkError instead of being
    created empty.
    """
    errors = _translated_errors(alembic)
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = direct_path(parsed)
        if not create and path is not None and not path.exists():
            raise SinkError(
                f"no SQLite database at '{path}'; 'loomlite db upgrade' or "
                "'loomlite up' creates it"
            )
        # sqlite3 in a worker thread: the async engine would start
        # aiosqlite's thread anyway, and importing it costs about 50 ms.
        return await anyio.to_thread.run_sync(_run_sqlite, url, action, work, errors)
    engine = create_engine(url)
    safe_url = display_url(engine.url)
    try:
        connection = await _connect(engine, safe_url)
        try:
            async with connection.begin():
                return await connection.run_sync(work)
        except errors as exc:
            reason = describe_error(exc)
            raise SinkError(f"{action} failed for {safe_url!r}: {reason}") from exc
        finally:
            await connection.close()
    finally:
        await engine.dispose()


def _run_sqlite(
    url: str | Path,
    action: str,
    work: Callable[[Connection], T],
    errors: tuple[type[Exception], ...],
) -> T:
    """Run ``work`` as ``_run`` does, on a blocking SQLite engine."""
    engine = create_sqlite_sync_engine(url)
    safe_url = display_url(engine.url)
    try:
        try:
            connection = engine.connect()
        except (SQLAlchemyError, OSError) as exc:
            reason = describe_sqlite_open_error(exc, engine.url.database or "")
            raise SinkError(
                f"cannot connect to the database {safe_url!r}: {reason}"
            ) from exc
        try:
            with connection.begin():
                return work(connection)
        except errors as exc:
            reason = describe_error(exc)
            raise SinkError(f"{action} failed for {safe_url!r}: {reason}") from exc
        finally:
            connection.close()
    finally:
        engine.dispose()


async def _connect(engine: AsyncEngine, safe_url: str) -> AsyncConnection:
    try:
        return await engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        raise SinkError(
            f"cannot connect to the database {safe_url!r}: {describe_error(exc)}"
        ) from exc
