"""UtcDatetime's shortcuts for encoded text and datetime objects match the parser.

The validator skips pydantic's datetime parser for the text that ``encode``
writes and for datetime objects. These tests compare each shortcut with the
parser followed by ``as_utc``, the path every other input takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from loomlite.contract import UtcDatetime
from loomlite.contract.types import as_utc

SHORTCUT = TypeAdapter(UtcDatetime)
PARSER = TypeAdapter(datetime)

ENCODED_TEXTS = [
    "2024-06-01T08:00:00Z",
    "2024-06-01T08:00:00.180000Z",
    "2024-06-01T08:00:00.000001Z",
    "2024-02-29T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
]


@pytest.mark.parametrize("text", ENCODED_TEXTS)
def test_encoded_text_matches_parser(text: str) -> None:
    value = SHORTCUT.validate_python(text)
    from_json = SHORTCUT.validate_json(f'"{text}"')
    expected = as_utc(PARSER.validate_python(text))

    assert value == expected
    assert value.tzinfo is UTC
    assert from_json == expected
    assert from_json.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T08:00:00Z",  # no such day
        "2023-02-29T08:00:00.000000Z",  # not a leap year
        "2024-06-01T24:00:00Z",
        "2024-06-01T08:00:60Z",
        "2024-06-01T08:0a:00Z",  # separators in place, a letter for a digit
        "2024-06-01T08:00:0\u0661Z",  # a digit, but not an ASCII one
    ],
)
def test_invalid_encoded_text_gets_parser_error(text: str) -> None:
    with pytest.raises(ValidationError) as shortcut_error:
        SHORTCUT.validate_python(text)
    with pytest.raises(ValidationError) as parser_error:
        PARSER.validate_python(text)

    shortcut_details = shortcut_error.value.errors(include_url=False)
    parser_details = parser_error.value.errors(include_url=False)
    assert [error["type"] for error in shortcut_details] == [
        error["type"] for error in parser_details
    ]
    assert [error["msg"] for error in shortcut_details] == [
        error["msg"] for error in parser_details
    ]


@pytest.mark.parametrize(
    "text",
    [
        "20240601T080000Z",  # basic format, read by fromisoformat only
        "2024-06-01T08:00:00.180000+01",  # hour-only offset, likewise
    ],
)
def test_text_parser_rejects_stays_rejected(text: str) -> None:
    with pytest.raises(ValidationError):
        SHORTCUT.validate_python(text)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 6, 1, 8, 0),
        datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
        datetime(2024, 6, 1, 8, 0, tzinfo=timezone(timedelta(0))),
        datetime(2024, 6, 1, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2024, 6, 1, 8, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
    ids=["naive", "utc", "zero-offset", "minus-5h", "plus-5h30"],
)
def test_datetime_object_matches_parser(value: datetime) -> None:
    result = SHORTCUT.validate_python(value)

    assert result == as_utc(PARSER.validate_python(value))
    assert result.tzinfo is UTC
    assert result.utcoffset() == timedelta(0)
