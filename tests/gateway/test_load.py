"""10,000 GPS readings from concurrent clients against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomlite.gateway._bench import measure_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

READINGS = 10_000
CLIENTS = 16


@pytest.mark.timeout(600)
async def test_ten_thousand_gps_stored_once(tmp_path: Path) -> None:
    result = await measure_gateway(READINGS, CLIENTS, tmp_path)

    assert result.statuses == {201: READINGS}
    assert len(set(result.acknowledged_ids)) == READINGS
    # The broker counts every publish, so a duplicate would show here even
    # though the table keeps one row per message id.
    assert result.published == READINGS
    assert result.rows == READINGS
    assert result.distinct_ids == set(result.acknowledged_ids)
