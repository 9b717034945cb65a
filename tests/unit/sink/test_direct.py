"""DirectWriter: a sink transaction in one sqlite3 call, and when it is used."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, make_url

from loomlite.sink import Sink, create_engine
from loomlite.sink.direct import DirectWriter, direct_path
from tests.unit.sink.small_catalog import SMALL_CATALOG, reading

INSERT = "INSERT INTO sensor_reading (device_id) VALUES (?)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:////tmp/a.db", Path("/tmp/a.db")),
        ("sqlite+aiosqlite:///relative.db", Path("relative.db")),
        ("sqlite+aiosqlite://", None),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite:///file:a.db?mode=ro&uri=true", None),
        ("sqlite+aiosqlite:////tmp/a.db?timeout=5", None),
        ("postgresql+asyncpg://user@localhost/db", None),
    ],
)
def test_direct_path_by_url(url: str, expected: Path | None) -> None:
    assert direct_path(make_url(url)) == expected


def open_writer(tmp_path: Path) -> DirectWriter:
    path = tmp_path / "direct.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE sensor_reading (device_id TEXT NOT NULL UNIQUE)")
    writer = DirectWriter(path)
    writer.open()
    return writer


def stored_devices(path: Path) -> list[str]:
    with sqlite3.connect(path) as database:
        rows = database.execute("SELECT device_id FROM sensor_reading ORDER BY 1")
        return [device for (device,) in rows]


def test_write_counts_each_request(tmp_path: Path) -> None:
    writer = open_writer(tmp_path)
    try:
        counts = writer.write(
            [
                [(INSERT, ("a",)), (INSERT, ("b",))],
                [("INSERT OR IGNORE INTO sensor_reading VALUES (?)", ("a",))],
            ]
        )
    finally:
        writer.close()

    assert counts == [2, 0]
    assert stored_devices(writer.path) == ["a", "b"]


def test_failed_statement_rolls_back_all(tmp_path: Path) -> None:
    writer = open_writer(tmp_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            writer.write([[(INSERT, ("a",))], [(INSERT, ("b",)), (INSERT, ("b",))]])
        after_failure = writer.write([[(INSERT, ("c",))]])
    finally:
        writer.close()

    assert after_failure == [1]
    assert stored_devices(writer.path) == ["c"]


def test_write_after_close_is_rejected(tmp_path: Path) -> None:
    writer = open_writer(tmp_path)
    writer.close()

    with pytest.raises(sqlite3.ProgrammingError, match=r"connection to .* is closed"):
        writer.write([[(INSERT, ("a",))]])


def test_writer_sets_engine_pragmas(tmp_path: Path) -> None:
    writer = open_writer(tmp_path)
    try:
        connection = writer._connection
        assert connection is not None
        journal = connection.execute("PRAGMA journal_mode").fetchone()
        foreign_keys = connection.execute("PRAGMA foreign_keys").fetchone()
    finally:
        writer.close()

    assert journal == ("wal",)
    assert foreign_keys == (1,)


@pytest.mark.anyio
async def test_passed_engine_sees_each_insert(database: str) -> None:
    # A passed-in engine keeps its events, so its INSERTs stay visible to them.
    engine = create_engine(database)
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with Sink(engine, SMALL_CATALOG, max_delay=0) as sink:
            inserted = await sink.write("sensor.reading", [reading(1)])
    finally:
        await engine.dispose()

    assert inserted == 1
    assert any(statement.startswith("INSERT") for statement in statements)


@pytest.mark.anyio
async def test_sink_from_path_writes_directly(database: str) -> None:
    async with Sink(database, SMALL_CATALOG, max_delay=0) as sink:
        statements: list[str] = []

        def record(_connection: Any, _cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(sink.engine.sync_engine, "before_cursor_execute", record)
        inserted = await sink.write("sensor.reading", [reading(1)])
        stored = await sink.count("sensor.reading")

    assert inserted == 1
    assert stored == 1
    assert not any(statement.startswith("INSERT") for statement in statements)
