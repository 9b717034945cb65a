"""Tables derived from a catalog: columns, types, nullability, natural key."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite

from loomlite.contract import (
    Binary,
    Catalog,
    Envelope,
    JsonObject,
    TableSpec,
    TopicKind,
    TopicSpec,
)
from loomlite.errors import ContractError
from loomlite.sink import UtcDateTime, build_metadata, row_from_message, table_for
from tests.unit.sink.small_catalog import SMALL_CATALOG, note, reading

ENVELOPE_COLUMNS = [
    "schema_version",
    "message_id",
    "trace_id",
    "device_id",
    "recorded_at",
    "received_at",
]


class Mood(enum.StrEnum):
    CALM = "calm"
    TENSE = "tense"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(BaseModel):
    x: float
    y: float


class Everything(Envelope):
    text: str
    count: int
    ratio: float
    flag: bool
    moment: datetime
    blob: Binary
    payload: JsonObject
    points: list[Point]
    pair: tuple[int, int]
    mood: Mood
    level: Level
    kind: Literal["a", "b"]
    size: Literal[1, 2]
    maybe_text: str | None = None
    maybe_count: int | None = None
    maybe_points: list[Point] | None = None


def spec_for(model: type[Envelope], table: str = "everything") -> TopicSpec:
    return TopicSpec(
        "test.everything",
        TopicKind.RAW,
        "All types.",
        {1: model},
        table=TableSpec(table),
    )


def test_build_metadata_has_one_table_per_stored_topic() -> None:
    metadata = build_metadata(SMALL_CATALOG)

    assert sorted(metadata.tables) == ["digest", "sensor_reading", "text_note"]


def test_build_metadata_cached_per_catalog() -> None:
    other = Catalog(SMALL_CATALOG)

    assert build_metadata(SMALL_CATALOG) is build_metadata(SMALL_CATALOG)
    assert build_metadata(other) is not build_metadata(SMALL_CATALOG)
    assert sorted(build_metadata(other).tables) == sorted(
        build_metadata(SMALL_CATALOG).tables
    )


def test_table_columns_follow_model_order() -> None:
    table = build_metadata(SMALL_CATALOG).tables["sensor_reading"]

    expected = ["id", *ENVELOPE_COLUMNS, "value", "unit", "label"]
    assert [column.name for column in table.c] == expected


def test_table_column_types() -> None:
    table = table_for(spec_for(Everything))
    expected: dict[str, type[Any]] = {
        "schema_version": BigInteger,
        "message_id": Text,
        "recorded_at": UtcDateTime,
        "text": Text,
        "count": BigInteger,
        "ratio": Double,
        "flag": Boolean,
        "moment": UtcDateTime,
        "blob": LargeBinary,
        "payload": JSON,
        "points": JSON,
        "pair": JSON,
        "mood": Text,
        "level": BigInteger,
        "kind": Text,
        "size": BigInteger,
        "maybe_text": Text,
        "maybe_count": BigInteger,
        "maybe_points": JSON,
    }

    for name, column_type in expected.items():
        assert type(table.c[name].type) is column_type, name


def test_optional_fields_are_nullable() -> None:
    table = table_for(spec_for(Everything))
    nullable = {column.name for column in table.c if column.nullable}

    assert nullable == {"maybe_text", "maybe_count", "maybe_points"}


def test_id_is_autoincrementing_primary_key() -> None:
    table = table_for(spec_for(Everything))
    sqlite_id = table.c.id.type.dialect_impl(sqlite.dialect())
    postgres_id = table.c.id.type.dialect_impl(postgresql.dialect())

    assert [column.name for column in table.primary_key] == ["id"]
    assert isinstance(sqlite_id, Integer)
    assert isinstance(postgres_id, BigInteger)


def test_natural_key_is_named_unique_constraint() -> None:
    table = build_metadata(SMALL_CATALOG).tables["text_note"]
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]

    assert len(uniques) == 1
    assert [column.name for column in uniques[0].columns] == [
        "device_id",
        "recorded_at",
        "title",
    ]
    assert uniques[0].name == "uq_text_note_natural_key"
    assert table.info["natural_key"] == ("device_id", "recorded_at", "title")


def test_unique_column_gets_named_constraint() -> None:
    table = build_metadata(SMALL_CATALOG).tables["digest"]
    uniques = {
        str(c.name): [column.name for column in c.columns]
        for c in table.constraints
        if isinstance(c, UniqueConstraint)
    }

    assert uniques == {
        "uq_digest_natural_key": ["device_id", "recorded_at"],
        "uq_digest_content_hash": ["content_hash"],
    }
    assert table.info["unique"] == ("content_hash",)


def test_unknown_unique_column_is_rejected() -> None:
    class Plain(Envelope):
        pass

    spec = TopicSpec(
        "test.plain",
        TopicKind.RAW,
        "Plain.",
        {1: Plain},
        table=TableSpec("plain", unique=("content_hash",)),
    )

    with pytest.raises(ContractError, match="unique column 'content_hash'"):
        table_for(spec)


def test_primary_key_is_named() -> None:
    table = build_metadata(SMALL_CATALOG).tables["text_note"]

    assert table.primary_key.name == "pk_text_note"


def test_unsupported_field_names_topic_and_field() -> None:
    class WithDate(Envelope):
        birthday: date

    with pytest.raises(ContractError) as caught:
        table_for(spec_for(WithDate))

    message = str(caught.value)
    assert "'test.everything'" in message
    assert "'birthday'" in message
    assert "use a UtcDatetime" in message


def test_union_field_is_rejected() -> None:
    class WithUnion(Envelope):
        either: int | str

    with pytest.raises(ContractError, match="field 'either': a union"):
        table_for(spec_for(WithUnion))


def test_any_field_is_rejected() -> None:
    class WithAny(Envelope):
        anything: Any

    with pytest.raises(ContractError, match="field 'anything'"):
        table_for(spec_for(WithAny))


def test_field_named_id_is_rejected() -> None:
    class WithId(Envelope):
        id: str

    with pytest.raises(ContractError, match="clashes with the table's surrogate"):
        table_for(spec_for(WithId))


def test_table_name_must_be_identifier() -> None:
    class Plain(Envelope):
        pass

    with pytest.raises(ContractError, match="table name 'bad; name'"):
        table_for(spec_for(Plain, table="bad; name"))


def test_long_constraint_name_is_rejected() -> None:
    class Plain(Envelope):
        pass

    with pytest.raises(ContractError, match="longer than 63 characters"):
        table_for(spec_for(Plain, table="t" * 50))


def test_json_natural_key_is_rejected() -> None:
    class Tagged(Envelope):
        tags: list[str]

    spec = TopicSpec(
        "test.tagged",
        TopicKind.RAW,
        "Tags.",
        {1: Tagged},
        table=TableSpec("tagged", ("recorded_at", "tags")),
    )

    with pytest.raises(
        ContractError, match="natural key column 'tags' is a JSON column"
    ):
        table_for(spec)


def test_topics_with_same_model_share_table() -> None:
    class Shared(Envelope):
        value: int

    specs = [
        TopicSpec(name, TopicKind.RAW, "x", {1: Shared}, table=TableSpec("shared"))
        for name in ("test.one", "test.two")
    ]

    metadata = build_metadata(Catalog(specs))

    assert list(metadata.tables) == ["shared"]


def test_unstored_topic_has_no_table() -> None:
    with pytest.raises(ContractError, match=r"'internal\.ping' is not stored"):
        table_for(SMALL_CATALOG.get("internal.ping"))


def test_row_from_message_copies_fields() -> None:
    message = reading(3, label="kitchen")

    row = row_from_message(SMALL_CATALOG.get("sensor.reading"), message)

    assert row == {
        "schema_version": 1,
        "message_id": message.message_id,
        "trace_id": message.trace_id,
        "device_id": "phone-1",
        "recorded_at": message.recorded_at,
        "received_at": message.received_at,
        "value": 3.0,
        "unit": "C",
        "label": "kitchen",
    }


def test_row_from_message_serialises_nested_values() -> None:
    message = note(1, tags=["a", "b"], attachment=b"\x00\xff")

    row = row_from_message(SMALL_CATALOG.get("text.note"), message)

    assert row["tags"] == ["a", "b"]
    assert row["attachment"] == b"\x00\xff"


def test_row_from_message_stores_enum_values() -> None:
    class WithEnums(Envelope):
        mood: Mood
        level: Level | None = None
        points: list[Point] = []

    message = WithEnums(
        device_id="d",
        recorded_at=datetime(2024, 1, 1),
        received_at=datetime(2024, 1, 1),
        mood=Mood.TENSE,
        points=[Point(x=1, y=2)],
    )

    row = row_from_message(spec_for(WithEnums), message)

    assert row["mood"] == "tense"
    assert type(row["mood"]) is str
    assert row["level"] is None
    assert row["points"] == [{"x": 1.0, "y": 2.0}]


def test_row_from_message_rejects_other_model() -> None:
    with pytest.raises(ContractError, match="stores Note messages, got Reading"):
        row_from_message(SMALL_CATALOG.get("text.note"), reading(1))
