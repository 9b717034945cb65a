"""``migrate.upgrade`` to head without Alembic: create_all plus a version row
on an empty database, nothing at all on a database at head.

The schema that create_all builds must equal the one that the revision
scripts build, on SQLite and on Postgres.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect, text

from loomlite.errors import SinkError
from loomlite.sink import build_metadata, create_engine, migrate
from loomlite.sink.migrate import RevisionChange

HEAD = "0003_consumer_activity"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loomlite.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@dataclass(frozen=True)
class Snapshot:
    """A database's schema as reflected MetaData and as plain data."""

    metadata: MetaData
    tables: dict[str, dict[str, Any]]


def describe_tables(connection: Connection) -> dict[str, dict[str, Any]]:
    """Every table's columns, keys, indexes and constraints as plain data.

    Columns are keyed by name, so their order is not compared: a revision
    that adds a column puts it last, while create_all follows the model's
    field order, and loomlite never reads a column by its position.
    """
    inspector = inspect(connection)
    described: dict[str, dict[str, Any]] = {}
    for name in sorted(inspector.get_table_names()):
        columns = {
            column["name"]: (
                str(column["type"]),
                column["nullable"],
                column.get("default"),
            )
            for column in inspector.get_columns(name)
        }
        described[name] = {
            "columns": columns,
            "primary_key": inspector.get_pk_constraint(name),
            "foreign_keys": inspector.get_foreign_keys(name),
            "indexes": sorted(
                inspector.get_indexes(name), key=lambda index: str(index["name"])
            ),
            "unique": sorted(
                inspector.get_unique_constraints(name),
                key=lambda unique: str(unique["name"]),
            ),
            "checks": sorted(
                inspector.get_check_constraints(name),
                key=lambda check: str(check["name"]),
            ),
        }
    return described


def reflect(connection: Connection) -> Snapshot:
    metadata = MetaData()
    metadata.reflect(connection)
    return Snapshot(metadata, describe_tables(connection))


async def run_on(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def differences_from(expected: MetaData) -> Any:
    """Return autogenerate's differences between a database and ``expected``."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True},
        )
        differences: list[Any] = compare_metadata(context, expected)
        return differences

    return compare


@pytest.mark.anyio
async def test_create_all_matches_revisions(database_url: str) -> None:
    # A revision id, unlike "head", always runs the revision scripts.
    by_scripts = await migrate.upgrade(database_url, migrate.head() or "")
    migrated: Snapshot = await run_on(database_url, reflect)
    await migrate.downgrade(database_url, "base")
    await run_on(database_url, lambda c: c.execute(text("DROP TABLE alembic_version")))

    created = await migrate.upgrade(database_url)
    fresh: Snapshot = await run_on(database_url, reflect)
    differences = await run_on(database_url, differences_from(migrated.metadata))

    assert by_scripts == RevisionChange(None, HEAD)
    assert created == RevisionChange(None, HEAD)
    assert differences == []
    assert set(fresh.tables) == set(migrated.tables)
    for name, described in migrated.tables.items():
        assert fresh.tables[name] == described, name
    assert await migrate.check(database_url) == []
    assert await migrate.current(database_url) == HEAD


@pytest.mark.anyio
async def test_created_schema_takes_revisions(database_url: str) -> None:
    await migrate.upgrade(database_url)

    down = await migrate.downgrade(database_url, "0001_initial")
    up = await migrate.upgrade(database_url)

    assert down == RevisionChange(HEAD, "0001_initial")
    assert up == RevisionChange("0001_initial", HEAD)
    assert await migrate.check(database_url) == []


@pytest.mark.anyio
async def test_unrecorded_tables_are_rejected(database_url: str) -> None:
    table = build_metadata().tables["device_sensor_gps_raw"]
    await run_on(database_url, table.create)

    with pytest.raises(SinkError, match="no recorded schema revision") as caught:
        await migrate.upgrade(database_url)

    assert "'device_sensor_gps_raw'" in str(caught.value)
    assert "loomlite db stamp head" in str(caught.value)
    assert await migrate.current(database_url) is None


@pytest.mark.anyio
async def test_broker_tables_count_as_empty(database_url: str) -> None:
    broker_table = "CREATE TABLE broker_records (record_offset INTEGER)"
    await run_on(database_url, lambda c: c.execute(text(broker_table)))

    change = await migrate.upgrade(database_url)

    assert change == RevisionChange(None, HEAD)
    assert await migrate.check(database_url) == []


@pytest.mark.anyio
async def test_several_version_rows_rejected(database_url: str) -> None:
    await migrate.upgrade(database_url)
    insert = "INSERT INTO alembic_version (version_num) VALUES ('0001_initial')"
    await run_on(database_url, lambda c: c.execute(text(insert)))

    with pytest.raises(SinkError, match="several revisions"):
        await migrate.current(database_url)
    with pytest.raises(SinkError, match="several revisions"):
        await migrate.upgrade(database_url)


def test_upgrade_to_head_skips_alembic(tmp_path: Path) -> None:
    # A fresh interpreter, because this test process has imported Alembic.
    script = textwrap.dedent(
        """
        import sys
        import anyio
        from loomlite.sink import migrate

        url = sys.argv[1]
        for _ in range(2):
            change = anyio.run(migrate.upgrade, url)
            print(change.before, change.after)
        print(anyio.run(migrate.current, url))
        print("alembic imported:", "alembic" in sys.modules)
        """
    )
    url = f"sqlite:///{tmp_path / 'loomlite.db'}"

    result = subprocess.run(
        [sys.executable, "-c", script, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"None {HEAD}",
        f"{HEAD} {HEAD}",
        HEAD,
        "alembic imported: False",
    ]


# -- the newest revision read from the files -----------------------------------


def write_revision(directory: Path, revision: str, parent: str | None) -> None:
    versions = directory / "versions"
    versions.mkdir(exist_ok=True)
    (versions / f"{revision}.py").write_text(
        f'"""Revision: {revision}"""\n\n'
        f"revision: str = {revision!r}\n"
        f"down_revision: str | None = {parent!r}\n",
        encoding="utf-8",
    )


def test_newest_revision_of_the_package() -> None:
    assert migrate._newest_revision() == migrate.head() == HEAD


def test_newest_revision_of_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_revision(tmp_path, "0001_a", None)
    write_revision(tmp_path, "0002_b", "0001_a")
    write_revision(tmp_path, "0003_c", "0002_b")
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)

    assert migrate._newest_revision() == "0003_c"


def test_newest_revision_after_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_revision(tmp_path, "0001_a", None)
    write_revision(tmp_path, "0002_b", "0001_a")
    write_revision(tmp_path, "0002_c", "0001_a")
    versions = tmp_path / "versions"
    (versions / "0003_merge.py").write_text(
        "revision = '0003_merge'\ndown_revision = ('0002_b', '0002_c')\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)

    assert migrate._newest_revision() == "0003_merge"


def test_newest_revision_of_two_branches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_revision(tmp_path, "0001_a", None)
    write_revision(tmp_path, "0002_b", "0001_a")
    write_revision(tmp_path, "0002_c", "0001_a")
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)

    assert migrate._newest_revision() is None


def test_newest_revision_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_revision(tmp_path, "0001_a", None)
    (tmp_path / "versions" / "0002_b.py").write_text(
        "revision = make_id()\ndown_revision = '0001_a'\n", encoding="utf-8"
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)

    assert migrate._newest_revision() is None
