"""``loomlite db``: upgrade, downgrade, current and check on SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from loomlite.cli import main


def run(*arguments: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["db", *arguments], env=env)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_upgrade_reports_revisions(url: str) -> None:
    first = run("upgrade", "--db", url)
    second = run("upgrade", "--db", url)

    assert first.exit_code == 0, first.output
    assert first.output == f"{url}: base (empty schema) -> 0003_consumer_activity\n"
    assert second.output == f"{url}: already at 0003_consumer_activity\n"


def test_current_names_newest(url: str, tmp_path: Path) -> None:
    (tmp_path / "cli.db").touch()  # an empty SQLite file
    empty = run("current", "--db", url)
    run("upgrade", "0001_initial", "--db", url)
    behind = run("current", "--db", url)

    assert empty.output == (
        f"{url}: base (empty schema) (newest is 0003_consumer_activity)\n"
    )
    assert behind.output == f"{url}: 0001_initial (newest is 0003_consumer_activity)\n"


def test_check_passes_at_head(url: str) -> None:
    run("upgrade", "--db", url)

    result = run("check", "--db", url)

    assert result.exit_code == 0
    assert result.output == f"{url}: the schema matches the catalog\n"


def test_check_fails_after_downgrade(url: str) -> None:
    run("upgrade", "--db", url)
    down = run("downgrade", "0001_initial", "--db", url)

    result = run("check", "--db", url)

    assert down.output == f"{url}: 0003_consumer_activity -> 0001_initial\n"
    assert result.exit_code == 1
    assert "differs from the catalog in 5 place(s)" in result.output
    assert "  add column external_email_events_raw.content_hash\n" in result.output
    assert "run 'loomlite db upgrade'" in result.output


def test_database_comes_from_environment(url: str) -> None:
    result = run("upgrade", "0001_initial", env={"LOOMLITE_DB": url})

    assert result.exit_code == 0
    assert result.output == f"{url}: base (empty schema) -> 0001_initial\n"


def test_default_database_is_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOOMLITE_DB", raising=False)

    result = run("upgrade", "0001_initial")

    assert result.exit_code == 0
    assert result.output.startswith("sqlite:///loomlite.db: ")
    assert (tmp_path / "loomlite.db").is_file()


def test_bad_url_exits_without_traceback() -> None:
    result = run("current", "--db", "mysql://loom:secret@127.0.0.1/loom")

    assert result.exit_code == 1
    assert "Error: unsupported database URL" in result.output
    assert "secret" not in result.output
    assert "Traceback" not in result.output


def test_unreachable_server_exits_without_traceback() -> None:
    # Nothing listens on port 1 of the loopback address.
    result = run("upgrade", "--db", "postgresql://loom@127.0.0.1:1/loom")

    assert result.exit_code == 1
    assert "Error: cannot connect to the database" in result.output
    assert "Traceback" not in result.output


def test_unknown_revision_exits_without_traceback(url: str) -> None:
    result = run("downgrade", "zzz", "--db", url)

    assert result.exit_code == 1
    assert "Can't locate revision identified by 'zzz'" in result.output


def test_downgrade_needs_revision(url: str) -> None:
    result = run("downgrade", "--db", url)

    assert result.exit_code == 2
    assert "Missing argument 'REVISION'" in result.output


def test_file_not_database_names_fix(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n")

    result = run("current", "--db", str(path))

    assert result.exit_code == 1
    assert "file is not a database" in result.output
    assert "is not a SQLite database" in result.output
    assert "choose another path" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["current", "check"])
def test_missing_file_is_error_not_created(tmp_path: Path, command: str) -> None:
    path = tmp_path / "missing.db"

    result = run(command, "--db", f"sqlite:///{path}")

    assert result.exit_code == 1
    assert f"no SQLite database at '{path}'" in result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def drop_table(url: str, name: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute(f"DROP TABLE {name}")
    connection.close()


def test_check_leaves_foreign_tables_alone(url: str) -> None:
    run("upgrade", "--db", url)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("CREATE TABLE my_notes (body TEXT)")
    connection.close()

    result = run("check", "--db", url)

    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{url}: tables not made by loomlite, left alone: my_notes\n"
        f"{url}: the schema matches the catalog\n"
    )


def test_check_reports_dropped_sink_table(url: str) -> None:
    run("upgrade", "--db", url)
    drop_table(url, "consumer_activity")

    result = run("check", "--db", url)

    assert result.exit_code == 1
    assert "  add table consumer_activity\n" in result.output


def test_upgrade_without_revision_record_names_stamp(url: str) -> None:
    run("upgrade", "--db", url)
    drop_table(url, "alembic_version")

    rejected = run("upgrade", "--db", url)
    stamped = run("stamp", "head", "--db", url)
    checked = run("check", "--db", url)

    assert rejected.exit_code == 1
    assert "but no recorded schema revision" in rejected.output
    assert "'loomlite db stamp head'" in rejected.output
    assert "already exists" not in rejected.output
    assert stamped.output == f"{url}: base (empty schema) -> 0003_consumer_activity\n"
    assert checked.exit_code == 0, checked.output
