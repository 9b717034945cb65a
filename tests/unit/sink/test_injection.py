"""Hostile text in real catalog topics is stored verbatim and harms no table."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from loomlite.contract import CATALOG
from loomlite.sink import Sink, build_metadata, create_engine
from tests.unit.sink.cases import (
    HOSTILE_TEXTS,
    LIST_COLUMNS,
    TEXT_COLUMNS,
    hostile_messages,
)
from tests.unit.sink.small_catalog import create_tables

pytestmark = pytest.mark.anyio


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(
                lambda sync: inspect(sync).get_table_names()
            )
    finally:
        await engine.dispose()
    return set(names)


@pytest.fixture
async def catalog_database(tmp_path: Path) -> str:
    """The URL of a SQLite file with every table of the real catalog."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    await create_tables(url, CATALOG)
    return url


async def test_hostile_text_is_stored_verbatim(catalog_database: str) -> None:
    async with Sink(catalog_database) as sink:
        for topic, messages in hostile_messages().items():
            assert await sink.write(topic, messages) == len(HOSTILE_TEXTS), topic
        stored = {topic: await sink.rows(topic) for topic in TEXT_COLUMNS}

    for topic, columns in TEXT_COLUMNS.items():
        for column in columns:
            values = [row[column] for row in stored[topic]]
            assert values == list(HOSTILE_TEXTS), f"{topic}.{column}"
    for topic, columns in LIST_COLUMNS.items():
        for column in columns:
            values = [row[column] for row in stored[topic]]
            assert values == [[text] for text in HOSTILE_TEXTS], f"{topic}.{column}"


async def test_hostile_text_leaves_tables_intact(catalog_database: str) -> None:
    before = await table_names(catalog_database)
    expected_rows: dict[str, int] = {}
    for topic in TEXT_COLUMNS:
        table = CATALOG.get(topic).table
        assert table is not None
        expected_rows[table.name] = len(HOSTILE_TEXTS)

    async with Sink(catalog_database) as sink:
        for topic, messages in hostile_messages().items():
            await sink.write(topic, messages)
        counts = {name: await sink.count(name) for name in sorted(before)}

    assert await table_names(catalog_database) == before
    assert before == set(build_metadata().tables)
    for name, count in counts.items():
        assert count == expected_rows.get(name, 0), name


async def test_hostile_filter_matches_one_row(catalog_database: str) -> None:
    async with Sink(catalog_database) as sink:
        await sink.write("digital.notes.raw", hostile_messages()["digital.notes.raw"])
        for text in HOSTILE_TEXTS:
            rows = await sink.rows("digital.notes.raw", where={"device_id": text})

            assert [row["content"] for row in rows] == [text]


async def test_hostile_replay_inserts_nothing(catalog_database: str) -> None:
    messages = hostile_messages()["external.email.events.raw"]

    async with Sink(catalog_database) as sink:
        first = await sink.write("external.email.events.raw", messages)
        second = await sink.write("external.email.events.raw", messages)

    assert first == len(HOSTILE_TEXTS)
    assert second == 0
