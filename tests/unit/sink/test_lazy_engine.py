"""A sink on a SQLite file writes without SQLAlchemy's asyncio extension,
which it imports, with its engine, only at the first read."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import anyio

    from loomlite.sink import Sink, build_metadata, migrate
    from loomlite.sink.engine import create_sqlite_sync_engine
    from tests.unit.sink.small_catalog import SMALL_CATALOG, reading

    async def main(directory):
        seen = {}
        await migrate.upgrade(f"sqlite:///{directory}/loomlite.db")
        seen["after upgrade"] = "sqlalchemy.ext.asyncio" in sys.modules
        url = f"sqlite:///{directory}/small.db"
        engine = create_sqlite_sync_engine(url)
        build_metadata(SMALL_CATALOG).create_all(engine)
        engine.dispose()
        async with Sink(url, SMALL_CATALOG) as sink:
            await sink.write("sensor.reading", [reading(1), reading(2)])
            seen["after write"] = "sqlalchemy.ext.asyncio" in sys.modules
            seen["count"] = await sink.count("sensor.reading")
            seen["after count"] = "sqlalchemy.ext.asyncio" in sys.modules
        print(json.dumps(seen))

    anyio.run(main, sys.argv[1])
    """
)


def test_sqlite_sink_imports_asyncio_at_first_read(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[3],
    )

    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["after upgrade"] is False
    assert seen["after write"] is False
    assert seen["count"] == 2
    assert seen["after count"] is True
