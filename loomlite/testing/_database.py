"""Read committed rows, and a digest of every table, from a sink database."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loomlite.contract.catalog import Catalog
from loomlite.errors import ConfigurationError
from loomlite.sink import build_metadata, create_engine

__all__ = ["database_digest", "read_rows"]

# Surrogate key that differs between two databases holding the same rows.
_SURROGATE = "id"


def _table(name: str, catalog: Catalog) -> sa.Table:
    metadata = build_metadata(catalog)
    if name in metadata.tables:
        return metadata.tables[name]
    if name in catalog:
        spec = catalog.get(name)
        if spec.table is not None:
            return metadata.tables[spec.table.name]
    raise ConfigurationError(
        f"unknown table {name!r}: expected a table name such as "
        f"{sorted(metadata.tables)[0]!r} or the name of a persisted topic"
    )


async def read_rows(
    url: str | Path,
    name: str,
    catalog: Catalog,
    *,
    order_by: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Return the rows of table ``name`` (or of the topic ``name``) as dicts.

    Rows are ordered by ``order_by`` or else by ``recorded_at`` and ``id``.
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
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(statement)
            return [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()


async def database_digest(url: str | Path, catalog: Catalog) -> str:
    """Return a SHA-256 over every row of every catalog table except ``id``.

    Rows are compared as sorted text per table, so two databases with the
    same rows inserted in another order have the same digest.
    """
    metadata = build_metadata(catalog)
    digest = hashlib.sha256()
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            for name in sorted(metadata.tables):
                table = metadata.tables[name]
                columns = [c for c in table.columns if c.name != _SURROGATE]
                result = await connection.execute(sa.select(*columns))
                rows = sorted(repr(tuple(row)) for row in result)
                digest.update(name.encode())
                digest.update(len(rows).to_bytes(8, "big"))
                for row in rows:
                    digest.update(row.encode())
    finally:
        await engine.dispose()
    return digest.hexdigest()
