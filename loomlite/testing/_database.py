"""Read committed rows, and a digest of every table, from a sink database."""

from __future__ import annotations

import atexit
import difflib
import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from loomlite.contract.catalog import Catalog
from loomlite.errors import ConfigurationError
from loomlite.sink import build_metadata, create_engine

__all__ = ["create_schema", "database_digest", "read_rows"]

# Surrogate key that differs between two databases holding the same rows.
_SURROGATE = "id"

_metadata_cache: dict[int, tuple[Catalog, sa.MetaData]] = {}
_template: Path | None = None
_template_lock = anyio.Lock()


def _metadata(catalog: Catalog) -> sa.MetaData:
    """Return the tables of ``catalog``, built once per catalog object."""
    cached = _metadata_cache.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        cached = (catalog, build_metadata(catalog))
        _metadata_cache[id(catalog)] = cached
    return cached[1]


async def create_schema(url: str, sqlite_file: Path | None) -> None:
    """Bring the database at ``url`` to the newest schema.

    A new SQLite file (``sqlite_file``, which must not exist yet) is copied
    from a template that the first call of the process migrates, because
    building every table takes about 0.4 s and a test suite builds many
    empty databases. Any other database is migrated in place.
    """
    from loomlite.sink import migrate

    if sqlite_file is None or await anyio.Path(sqlite_file).exists():
        await migrate.upgrade(url)
        return
    global _template
    async with _template_lock:
        if _template is None:
            directory = Path(tempfile.mkdtemp(prefix="loomlite-schema-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            template = directory / "template.db"
            await migrate.upgrade(f"sqlite:///{template.as_posix()}")
            _template = template
    for suffix in ("", "-wal"):
        source = _template.with_name(_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, sqlite_file.with_name(sqlite_file.name + suffix))


def _table(name: str, catalog: Catalog) -> sa.Table:
    metadata = _metadata(catalog)
    if name in metadata.tables:
        return metadata.tables[name]
    if name in catalog:
        spec = catalog.get(name)
        if spec.table is not None:
            return metadata.tables[spec.table.name]
        raise ConfigurationError(
            f"topic {spec.name!r} has no table: {spec.not_persisted_reason}"
        )
    close = difflib.get_close_matches(name, metadata.tables, n=3)
    hint = (
        f"did you mean {' or '.join(repr(table) for table in close)}?"
        if close
        else f"expected a table name such as {sorted(metadata.tables)[0]!r} "
        "or the name of a persisted topic"
    )
    raise ConfigurationError(f"unknown table {name!r}; {hint}")


async def read_rows(
    url_or_engine: str | Path | AsyncEngine,
    name: str,
    catalog: Catalog,
    *,
    order_by: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Return the rows of table ``name`` (or of the topic ``name``) as dicts.

    Rows are ordered by ``order_by`` or else by ``recorded_at`` and ``id``.
    An engine passed in stays open; one built from a URL is disposed.
    """
    table = _table(name, catalog)
    if order_by is None:
        order_by = ("recorded_at", _SURROGATE)
    elif isinstance(order_by, str):
        order_by = (order_by,)
    unknown = [column for column in order_by if column not in table.columns]
    if unknown:
        raise ConfigurationError(
            f"table {table.name!r} has no column {unknown[0]!r}; its columns are "
            f"{', '.join(table.columns.keys())}"
        )
    statement = sa.select(table).order_by(*(table.columns[c] for c in order_by))
    if isinstance(url_or_engine, AsyncEngine):
        return await _fetch(url_or_engine, statement)
    engine = create_engine(url_or_engine)
    try:
        return await _fetch(engine, statement)
    finally:
        await engine.dispose()


async def _fetch(
    engine: AsyncEngine, statement: sa.Select[Any]
) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(statement)
        return [dict(row) for row in result.mappings()]


async def database_digest(
    url: str | Path,
    catalog: Catalog,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> str:
    """Return a SHA-256 over every row of every catalog table except ``id``.

    Rows are compared as sorted text per table, so two databases with the
    same rows inserted in another order have the same digest. ``start``
    (inclusive) and ``end`` (exclusive) limit the rows by ``recorded_at``.
    """
    metadata = _metadata(catalog)
    digest = hashlib.sha256()
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            for name in sorted(metadata.tables):
                table = metadata.tables[name]
                columns = [c for c in table.columns if c.name != _SURROGATE]
                statement = sa.select(*columns)
                if start is not None:
                    statement = statement.where(table.c.recorded_at >= start)
                if end is not None:
                    statement = statement.where(table.c.recorded_at < end)
                result = await connection.execute(statement)
                rows = sorted(repr(tuple(row)) for row in result)
                digest.update(name.encode())
                digest.update(len(rows).to_bytes(8, "big"))
                for row in rows:
                    digest.update(row.encode())
    finally:
        await engine.dispose()
    return digest.hexdigest()
