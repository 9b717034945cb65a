"""Alembic environment of the sink's schema.

``loomlite.sink.migrate`` passes an open connection in
``config.attributes["connection"]``. Without one (the ``alembic`` command
with an ini file that sets ``sqlalchemy.url``), this script opens an async
engine itself and runs the migrations through ``connection.run_sync``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from loomlite.sink.engine import create_engine
from loomlite.sink.migrate import include_object
from loomlite.sink.schema import schema_metadata

target_metadata = list(schema_metadata())


def run_migrations(connection: Connection) -> None:
    # Autogenerate renders batch operations so that one revision runs on both
    # databases: SQLite recreates the table, Postgres runs a plain ALTER.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def run_offline(url: str) -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database to migrate: run 'loomlite db upgrade', or set "
            "sqlalchemy.url in the alembic.ini passed with -c"
        )
    if context.is_offline_mode():
        run_offline(url)
    else:
        asyncio.run(run_with_own_engine(url))


main()
