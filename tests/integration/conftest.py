"""Fixtures for tests that need a PostgreSQL server.

The server URL comes from LOOMLITE_TEST_POSTGRES_URL, for example
``postgresql://postgres@127.0.0.1:54329/postgres``. Each test gets a fresh
database with a random name, dropped afterwards. Without the variable the
tests are skipped, except under CI (the CI variable is set), where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import make_url

POSTGRES_URL_VARIABLE = "LOOMLITE_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    """Return the test server's URL, or skip (fail under CI) without one."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(
            f"PostgreSQL server not available: {POSTGRES_URL_VARIABLE} is not set, "
            "and CI runs must test Postgres"
        )
    pytest.skip(f"PostgreSQL server not available: set {POSTGRES_URL_VARIABLE}")


async def _execute_on_server(server_url: str, statement: str) -> None:
    import asyncpg

    dsn = make_url(server_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a fresh, empty database on the test server."""
    server_url = postgres_server_url()
    name = f"loomlite_test_{secrets.token_hex(8)}"
    # CREATE DATABASE takes no bound parameters; the name is made here from
    # hex digits only.
    await _execute_on_server(server_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        await _execute_on_server(
            server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )
