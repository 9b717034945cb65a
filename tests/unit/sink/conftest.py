"""Fixtures: SQLite databases holding the small catalog's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.sink.small_catalog import create_tables


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "sink.db"


@pytest.fixture
async def database(database_path: Path) -> str:
    """The URL of a SQLite file that contains the small catalog's tables."""
    url = f"sqlite:///{database_path}"
    await create_tables(url)
    return url
