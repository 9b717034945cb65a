"""open_broker: the broker kinds and URLs that a setting may name."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomlite.broker import DurableBroker, MemoryBroker, open_broker
from loomlite.clock import ManualClock
from loomlite.errors import ConfigurationError


def test_memory_kind(clock: ManualClock) -> None:
    broker = open_broker("memory", clock=clock)
    assert isinstance(broker, MemoryBroker)
    assert broker.statistics().taken_at == clock.now()


def test_durable_kind_uses_state_dir(tmp_path: Path) -> None:
    broker = open_broker("durable", state_dir=tmp_path)
    assert isinstance(broker, DurableBroker)
    assert broker.path == tmp_path / "broker.sqlite3"


def test_durable_kind_needs_state_dir() -> None:
    with pytest.raises(ConfigurationError, match="state directory"):
        open_broker("durable")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///state/broker.db", Path("state/broker.db")),
        ("sqlite:////var/lib/loomlite/broker.db", Path("/var/lib/loomlite/broker.db")),
        ("sqlite+aiosqlite:///loomlite.db", Path("loomlite.db")),
    ],
)
def test_sqlite_urls(url: str, path: Path) -> None:
    broker = open_broker(url)
    assert isinstance(broker, DurableBroker)
    assert broker.path == path


@pytest.mark.parametrize(
    "value", ["kafka://localhost:9092", "postgresql://db/loom", "Memory", ""]
)
def test_unknown_broker_lists_forms(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_broker(value)
    message = str(caught.value)
    assert repr(value) in message
    assert "'memory'" in message
    assert "'durable'" in message
    assert "sqlite:///PATH" in message


@pytest.mark.parametrize(
    "url", ["sqlite:///:memory:", "sqlite:///", "sqlite:///a.db?x=1"]
)
def test_sqlite_url_needs_plain_path(url: str) -> None:
    with pytest.raises(ConfigurationError, match="file path"):
        open_broker(url)
