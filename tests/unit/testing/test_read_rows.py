"""read_rows, behind Pipeline.rows: errors for names that have no table."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomlite.contract import CATALOG
from loomlite.errors import ConfigurationError
from loomlite.testing import read_rows

pytestmark = pytest.mark.anyio


async def test_misspelt_table_suggests_close_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loomlite.db'}"

    with pytest.raises(ConfigurationError) as caught:
        await read_rows(url, "device_sensor_gps_ra", CATALOG)

    message = str(caught.value)
    assert "unknown table 'device_sensor_gps_ra'" in message
    assert "did you mean 'device_sensor_gps_raw'" in message


async def test_topic_without_table_gives_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loomlite.db'}"

    with pytest.raises(ConfigurationError) as caught:
        await read_rows(url, "scheduler.triggers.email_fetch", CATALOG)

    message = str(caught.value)
    assert "topic 'scheduler.triggers.email_fetch' has no table" in message
    assert "A trigger carries no data worth storing." in message
