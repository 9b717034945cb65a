"""``GET /ai/context``: a snapshot of the database for an assistant's prompt.

The snapshot lists every topic table that contains rows (or that the request
names) with its row count and newest ``recorded_at``, and the newest rows of
the tables the request names. Binary columns (audio, images, documents) come
back as their size only. Every count and row comes from one read-only
transaction, so they agree with each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from sqlalchemy import Table

from loomlite.contract.catalog import Catalog
from loomlite.errors import UnknownTopicError
from loomlite.gateway.auth import require_api_key
from loomlite.gateway.routes.common import trace_fields
from loomlite.gateway.routes.database import (
    CONTROL_CHARACTER,
    DATABASE_ERRORS,
    DATABASE_RESPONSES,
    database_unavailable,
    jsonable,
    require_sink,
)
from loomlite.gateway.state import gateway_state, iso
from loomlite.gateway.tracing import request_trace
from loomlite.sink import build_metadata
from loomlite.sink.engine import read_transaction
from loomlite.sink.snapshot import newest_rows, summarise_tables

__all__ = ["MAX_ROWS_PER_TABLE", "MAX_TABLES", "add_ai_context_route"]

MAX_TABLES = 20
"""Maximum number of tables whose rows one request may ask for."""

MAX_ROWS_PER_TABLE = 100

# Postgres cancels a snapshot statement that runs longer, in milliseconds.
STATEMENT_TIMEOUT_MS = 5_000


class TableIndex:
    """The topic tables of a catalog, found by table name or topic name."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.tables = build_metadata(catalog).tables
        self.topics: dict[str, list[str]] = {}
        for spec in catalog.persisted():
            assert spec.table is not None
            self.topics.setdefault(spec.table.name, []).append(spec.name)

    def find(self, name: str) -> Table | None:
        """Return the table named ``name`` or stored for topic ``name``."""
        if name in self.tables:
            return self.tables[name]
        try:
            spec = self.catalog.get(name)
        except UnknownTopicError:
            return None
        if spec.table is None:
            return None
        return self.tables[spec.table.name]


def _query_error(parameter: str, message: str) -> HTTPException:
    """Return a 422 in FastAPI's shape for one query parameter."""
    entry = {
        "loc": ["query", parameter],
        "path": parameter,
        "msg": message,
        "type": "value_error",
    }
    return HTTPException(status_code=422, detail=[entry])


def _requested_tables(index: TableIndex, values: Iterable[str]) -> list[Table]:
    """Resolve the ``tables`` parameter; raise HTTPException 422 for a bad one."""
    names = [name.strip() for value in values for name in value.split(",")]
    chosen: dict[str, Table] = {}
    for name in names:
        if not name:
            raise _query_error("tables", "a table name is empty")
        table = index.find(name)
        if table is None:
            known = ", ".join(sorted(index.tables))
            raise _query_error(
                "tables",
                f"unknown table or topic {name[:100]!r}; known tables: {known}",
            )
        chosen[table.name] = table
    if len(chosen) > MAX_TABLES:
        raise _query_error(
            "tables",
            f"{len(chosen)} tables requested, more than the limit of "
            f"{MAX_TABLES}; ask for fewer per request",
        )
    return list(chosen.values())


def _check_device(device_id: str | None) -> None:
    if device_id is not None and CONTROL_CHARACTER.search(device_id):
        raise _query_error("device_id", "must not contain control characters")


async def _read_snapshot(
    request: Request,
    index: TableIndex,
    requested: list[Table],
    *,
    limit: int,
    device_id: str | None,
) -> dict[str, Any]:
    sink = require_sink(request)
    tables = list(index.tables.values())
    try:
        # Inside the try: a sink that closes meanwhile raises LifecycleError.
        engine = sink.engine
        async with read_transaction(
            engine, statement_timeout_ms=STATEMENT_TIMEOUT_MS
        ) as connection:
            summaries = await summarise_tables(connection, tables, device_id=device_id)
            rows = {
                table.name: await newest_rows(
                    connection, table, limit=limit, device_id=device_id
                )
                for table in requested
            }
    except DATABASE_ERRORS as exc:
        raise database_unavailable(request, "reading the database", exc) from exc
    requested_names = {table.name for table in requested}
    listed = [s for s in summaries if s.rows or s.table in requested_names]
    return {
        "database": engine.dialect.name,
        "total_rows": sum(summary.rows for summary in summaries),
        "empty_tables": sum(1 for summary in summaries if not summary.rows),
        "tables": [
            {
                "table": summary.table,
                "topics": index.topics[summary.table],
                "rows": summary.rows,
                "newest_recorded_at": jsonable(summary.newest_recorded_at),
            }
            for summary in listed
        ],
        "rows": {name: jsonable(found) for name, found in rows.items()},
    }


def add_ai_context_route(app: FastAPI, catalog: Catalog) -> None:
    index = TableIndex(catalog)

    async def ai_context(
        request: Request,
        tables: Annotated[
            list[str] | None,
            Query(
                description=(
                    "Tables or topics whose newest rows to include, comma "
                    f"separated or repeated; at most {MAX_TABLES}."
                ),
            ),
        ] = None,
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=MAX_ROWS_PER_TABLE,
                description="Newest rows per requested table.",
            ),
        ] = 5,
        device_id: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=256,
                description="Count and list only this device's rows.",
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Return each stored table's row count and newest event time, and
        the newest rows of the requested tables."""
        state = gateway_state(request)
        requested = _requested_tables(index, tables or [])
        _check_device(device_id)
        snapshot = await _read_snapshot(
            request, index, requested, limit=limit, device_id=device_id
        )
        return {
            "status": "success",
            "generated_at": iso(state.clock.now()),
            "device_id": device_id,
            "limit": limit,
            **snapshot,
            **trace_fields(request_trace(request)),
        }

    app.add_api_route(
        "/ai/context",
        ai_context,
        methods=["GET"],
        dependencies=[Depends(require_api_key)],
        summary="Read a snapshot of the database",
        tags=["ai"],
        responses=DATABASE_RESPONSES,
    )
