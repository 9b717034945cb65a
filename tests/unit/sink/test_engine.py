"""Engine URLs, SQLite pragmas and BEGIN IMMEDIATE transactions."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from loomlite.errors import ConfigurationError
from loomlite.sink import create_engine, database_url, display_url, migrate
from loomlite.sink.engine import describe_sqlite_open_error


def test_plain_path_is_sqlite_file(tmp_path: Path) -> None:
    url = database_url(tmp_path / "a.db")

    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == str(tmp_path / "a.db")


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"])
def test_sqlite_urls_use_aiosqlite(tmp_path: Path, scheme: str) -> None:
    url = database_url(f"{scheme}:///{tmp_path}/a.db")

    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == f"{tmp_path}/a.db"


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+asyncpg", "postgres"])
def test_postgres_urls_use_asyncpg(scheme: str) -> None:
    url = database_url(f"{scheme}://loom:secret@127.0.0.1:5432/loom")

    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "127.0.0.1"
    assert url.database == "loom"


def test_missing_asyncpg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "asyncpg" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    with pytest.raises(ConfigurationError, match=r"pip install 'loomlite\[postgres\]'"):
        database_url("postgresql://127.0.0.1/loom")


def test_other_driver_is_rejected() -> None:
    with pytest.raises(ConfigurationError) as caught:
        database_url("mysql://user:hunter2@127.0.0.1/loom")

    message = str(caught.value)
    assert "driver 'mysql' is not supported" in message
    assert "sqlite:///PATH" in message
    assert "hunter2" not in message


def test_unparsable_url_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="invalid database URL"):
        database_url("postgresql://127.0.0.1:notaport/loom")


def test_empty_url_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="the database URL is empty"):
        database_url("  ")


@pytest.mark.parametrize("form", ["~/a.db", "sqlite:///~/a.db"])
def test_home_directory_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    url = database_url(form)

    assert url.database == str(tmp_path / "a.db")


@pytest.mark.anyio
async def test_upgrade_creates_file_in_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    change = await migrate.upgrade("sqlite:///~/a.db")

    assert change.after is not None
    assert (tmp_path / "a.db").is_file()


def test_missing_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        database_url(tmp_path / "missing" / "a.db")


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="it is a directory"):
        database_url(tmp_path)


def test_display_url_hides_password() -> None:
    displayed = display_url("postgresql://loom:secret@127.0.0.1/loom")

    assert displayed == "postgresql://loom:***@127.0.0.1/loom"


@pytest.mark.anyio
async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(tmp_path / "a.db")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout")
            }
            foreign_keys = await connection.exec_driver_sql("PRAGMA foreign_keys")
            pragmas["foreign_keys"] = foreign_keys.scalar()
    finally:
        await engine.dispose()

    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 1  # NORMAL
    assert pragmas["busy_timeout"] == 30_000
    assert pragmas["foreign_keys"] == 1


@pytest.mark.anyio
async def test_transaction_takes_write_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    engine = create_engine(path)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))
            # A deferred BEGIN would take no lock for a SELECT; IMMEDIATE
            # holds the write lock, so a second writer fails at once.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("COMMIT")
    finally:
        other.close()
        await engine.dispose()


@pytest.mark.anyio
async def test_rolled_back_transaction_leaves_no_rows(tmp_path: Path) -> None:
    engine = create_engine(tmp_path / "a.db")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with pytest.raises(RuntimeError):
            async with engine.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
                raise RuntimeError("abort the transaction")
        async with engine.connect() as connection:
            count = (
                await connection.exec_driver_sql("SELECT count(*) FROM t")
            ).scalar()
    finally:
        await engine.dispose()

    assert count == 0


def test_unparsable_url_hides_credentials() -> None:
    with pytest.raises(ConfigurationError) as caught:
        database_url("postgresql://loom:hunter2@127.0.0.1:notaport/loom")

    message = str(caught.value)
    assert "postgresql://***@127.0.0.1:notaport/loom" in message
    assert "hunter2" not in message


def test_readonly_error_names_wal_files() -> None:
    error = sqlite3.OperationalError("attempt to write a readonly database")

    reason = describe_sqlite_open_error(error, Path("state/loomlite.db"))

    assert reason.startswith("OperationalError: attempt to write a readonly")
    assert "'state/loomlite.db' and its directory are writable" in reason
    assert "loomlite.db-wal" in reason
    assert "loomlite.db-shm" in reason


def test_other_open_error_has_no_advice() -> None:
    error = sqlite3.OperationalError("disk I/O error")

    reason = describe_sqlite_open_error(error, Path("a.db"))

    assert reason == "OperationalError: disk I/O error"


def test_parsed_url_keeps_password() -> None:
    parsed = database_url("postgresql://loom:secret@127.0.0.1/loom")

    again = database_url(parsed)

    assert again.password == "secret"
    assert again.drivername == "postgresql+asyncpg"


@pytest.mark.anyio
async def test_engine_from_parsed_url_keeps_password() -> None:
    # The sink parses its URL once and creates its engine from the result.
    engine = create_engine(database_url("postgresql://loom:secret@127.0.0.1/loom"))

    try:
        assert engine.url.password == "secret"
    finally:
        await engine.dispose()
