"""Async SQLAlchemy engines for SQLite (aiosqlite) and Postgres (asyncpg)."""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import URL, event, func, make_url, select
from sqlalchemy.exc import ArgumentError
from typing_extensions import TypeIs

from loomlite.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "configure_sqlite_connection",
    "create_engine",
    "create_sqlite_sync_engine",
    "database_url",
    "describe_error",
    "describe_sqlite_open_error",
    "display_url",
    "is_async_engine",
    "read_transaction",
]

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer's lock, in ms."""

# The execution option that makes a SQLite transaction start with a plain
# (deferred) BEGIN instead of BEGIN IMMEDIATE.
_READ_ONLY = "loomlite_read_only"

ACCEPTED_FORMS = (
    "a file path, sqlite:///PATH, sqlite+aiosqlite:///PATH, "
    "postgresql://USER@HOST:PORT/DATABASE or postgresql+asyncpg://…"
)

_SQLITE_DRIVERS = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}
_POSTGRES_DRIVERS = {"postgresql", "postgresql+asyncpg", "postgres"}


def database_url(url: str | Path | URL) -> URL:
    """Parse ``url`` into the async-driver URL loomlite connects with.

    A plain path means a SQLite file, and a leading ``~`` in a SQLite path
    is expanded to the home directory. A URL that is already parsed keeps
    its password. Raises ConfigurationError for a URL that does not parse,
    names another database or driver, or points into a directory that does
    not exist.
    """
    if isinstance(url, URL):
        # Not through str(): SQLAlchemy renders the password as '***' there.
        return _with_async_driver(url)
    text = str(url)
    if not text.strip():
        raise ConfigurationError(
            f"the database URL is empty; expected {ACCEPTED_FORMS}"
        )
    if "://" not in text:
        return _sqlite_url(make_url("sqlite+aiosqlite://").set(database=text))
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"invalid database URL {_masked(text)!r}: {exc}; expected {ACCEPTED_FORMS}"
        ) from exc
    return _with_async_driver(parsed)


def _with_async_driver(parsed: URL) -> URL:
    if parsed.drivername in _SQLITE_DRIVERS:
        return _sqlite_url(parsed.set(drivername="sqlite+aiosqlite"))
    if parsed.drivername in _POSTGRES_DRIVERS:
        _require_asyncpg()
        return parsed.set(drivername="postgresql+asyncpg")
    raise ConfigurationError(
        f"unsupported database URL {display_url(parsed)!r}: driver "
        f"{parsed.drivername!r} is not supported; expected {ACCEPTED_FORMS}"
    )


def display_url(url: str | URL) -> str:
    """Return ``url`` as text with any password replaced by ``***``."""
    if isinstance(url, str):
        return _masked(url)
    return url.render_as_string(hide_password=True)


def describe_error(exc: BaseException) -> str:
    """Return the driver's own message for a database error.

    SQLAlchemy's message also carries the statement, every bound parameter
    and a link, which can be megabytes for a batch and would copy message
    contents into logs.
    """
    original = getattr(exc, "orig", None)
    if not isinstance(original, BaseException):
        return f"{type(exc).__name__}: {exc}"
    # SQLAlchemy's asyncpg adapter wraps asyncpg's exception, whose class
    # names the failure (InvalidCatalogNameError, UniqueViolationError).
    if isinstance(original.__cause__, BaseException):
        original = original.__cause__
    return f"{type(original).__name__}: {original}"


def describe_sqlite_open_error(exc: BaseException, path: Path | str) -> str:
    """Return ``describe_error(exc)`` for a SQLite file that failed to open,
    with what to do when the file is read-only or not a database."""
    reason = describe_error(exc)
    message = reason.lower()
    name = Path(path).name
    if "readonly" in message or "unable to open database file" in message:
        return (
            f"{reason}; check that {str(path)!r} and its directory are writable, "
            f"because SQLite creates {name}-wal and {name}-shm beside it"
        )
    if "file is not a database" in message:
        return (
            f"{reason}; {str(path)!r} is not a SQLite database, so choose another "
            "path or move the file away to create a new database there"
        )
    return reason


def _masked(text: str) -> str:
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Without a parse, hide everything before the host, password included.
        return re.sub(r"//[^/@]*@", "//***@", text)


def _sqlite_url(url: URL) -> URL:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if path.is_dir():
        raise ConfigurationError(
            f"cannot open SQLite database {database!r}: it is a directory; "
            "give the path of a database file"
        )
    parent = path.parent
    if not parent.is_dir():
        raise ConfigurationError(
            f"cannot open SQLite database {database!r}: directory {str(parent)!r} "
            "does not exist; create it or choose another path"
        )
    # sqlite3 and aiosqlite open the path text as it is, so a leading '~'
    # would name a directory called '~' in the working directory.
    return url.set(database=str(path))


def _require_asyncpg() -> None:
    if importlib.util.find_spec("asyncpg") is None:
        raise ConfigurationError(
            "connecting to Postgres needs the asyncpg driver, which is not "
            "installed; run: pip install 'loomlite[postgres]'"
        )


def create_engine(url: str | Path | URL, **options: Any) -> AsyncEngine:
    """Create an async engine for ``url`` (see database_url for the forms).

    SQLite connections use WAL, ``synchronous=NORMAL``, a busy timeout of
    SQLITE_BUSY_TIMEOUT_MS and foreign keys, and every transaction starts
    with ``BEGIN IMMEDIATE``. ``options`` go to ``create_async_engine``.
    """
    # Imported here because sqlalchemy.ext.asyncio imports the ORM, about
    # 50 ms of the start, and a sink that writes SQLite through its own
    # connection creates its engine only at its first read.
    from sqlalchemy.ext.asyncio import create_async_engine

    parsed = database_url(url)
    engine = create_async_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine.sync_engine)
    logger.debug("created engine for %s", display_url(parsed))
    return engine


def is_async_engine(value: object) -> TypeIs[AsyncEngine]:
    """Return whether ``value`` is an AsyncEngine, without importing its module.

    An AsyncEngine exists only once sqlalchemy.ext.asyncio is imported.
    """
    module = sys.modules.get("sqlalchemy.ext.asyncio")
    return module is not None and isinstance(value, module.AsyncEngine)


def create_sqlite_sync_engine(url: str | Path) -> sqlalchemy.Engine:
    """Create a blocking engine on Python's sqlite3 for a SQLite ``url``, with
    the connection settings of ``create_engine``.

    Raises ConfigurationError for a URL that is not SQLite.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigurationError(f"expected a SQLite URL, got {display_url(parsed)!r}")
    engine = sqlalchemy.create_engine(parsed.set(drivername="sqlite"))
    _configure_sqlite(engine)
    return engine


def configure_sqlite_connection(dbapi_connection: Any) -> None:
    """Switch off the driver's own transactions and set loomlite's pragmas on
    a sqlite3 or aiosqlite-adapted DBAPI connection."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _configure_sqlite(sync_engine: sqlalchemy.Engine) -> None:
    # In WAL mode a deferred transaction that has read and then tries to
    # write fails with "database is locked" at once, without waiting for the
    # busy timeout, when another connection committed in between. Starting
    # every transaction with BEGIN IMMEDIATE takes the write lock first, and
    # that wait does honour the busy timeout. The driver's own BEGIN is
    # switched off so that SQLAlchemy's begin event can issue this one. The
    # recipe is from SQLAlchemy 2's SQLite dialect documentation, which
    # states that it applies to aiosqlite as well.
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure_sqlite_connection(dbapi_connection)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            # In WAL mode a deferred transaction that only reads works on one
            # snapshot and takes no lock, so the sink's writer goes on.
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@asynccontextmanager
async def read_transaction(
    engine: AsyncEngine, *, statement_timeout_ms: int
) -> AsyncIterator[AsyncConnection]:
    """Open a connection with a transaction for reads on one snapshot.

    On SQLite the transaction starts deferred and takes no write lock, so it
    does not hold up the sink's writer. Nothing there rejects a write inside
    it, so callers only read. On Postgres the transaction is REPEATABLE READ
    and READ ONLY, and each statement is cancelled after
    ``statement_timeout_ms``. SQLite has
    no statement timeout, so callers bound their queries with LIMIT.
    """
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = await connection.execution_options(**{_READ_ONLY: True})
            async with connection.begin():
                yield connection
            return
        # REPEATABLE READ, because READ COMMITTED takes a new snapshot for
        # each statement.
        connection = await connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with connection.begin():
            # set_config with is_local true is SET LOCAL with a bound value.
            timeout = func.set_config(
                "statement_timeout", str(int(statement_timeout_ms)), True
            )
            await connection.execute(select(timeout))
            yield connection
