"""The public names of loomlite.broker."""

from __future__ import annotations

import loomlite.broker


def test_all_names_exist_and_sorted() -> None:
    names = loomlite.broker.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(loomlite.broker, name), name


def test_implementations_exported() -> None:
    assert {"MemoryBroker", "DurableBroker", "open_broker"} <= set(
        loomlite.broker.__all__
    )
