"""The ``--http HOST:PORT`` value of ``loomlite up``."""

from __future__ import annotations

import pytest

from loomlite.cli.params import parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:8000", ("::1", 8000)),
        (":9000", ("127.0.0.1", 9000)),
    ],
)
def test_address_parsed(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["8000", "127.0.0.1", "host:http", "host:70000", ""])
def test_address_invalid(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_address(text)

    assert repr(text) in str(raised.value)
    assert "HOST:PORT" in str(raised.value)
