"""The column type of each model field, derived from its Python annotation."""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Boolean, Double, LargeBinary, Text
from sqlalchemy.types import TypeEngine

from loomlite.sink.types import UtcDateTime

__all__ = ["ColumnKind", "FieldColumn", "UnsupportedFieldType", "field_column"]

SUPPORTED = (
    "str, int, float, bool, datetime, bytes, str or int enums and literals, "
    "lists, tuples, dicts and nested models, each optionally None"
)


class UnsupportedFieldType(TypeError):
    """Raised when a field's annotation has no column type; tables.py adds the
    topic and field names."""


class ColumnKind(enum.Enum):
    """The conversion from a field value to a column value."""

    SCALAR = "scalar"  # stored as the attribute value
    ENUM = "enum"  # stored as the enum member's value
    JSON = "json"  # stored as the field's JSON-mode serialisation


@dataclass(frozen=True, slots=True)
class FieldColumn:
    """The column type, nullability and value kind of one model field."""

    type: TypeEngine[Any]
    nullable: bool
    kind: ColumnKind


def field_column(annotation: Any) -> FieldColumn:
    """Map a field annotation to its column; raise UnsupportedFieldType."""
    inner, nullable = _strip_optional(annotation)
    if _is_json(inner):
        return FieldColumn(JSON(none_as_null=True), nullable, ColumnKind.JSON)
    kind = ColumnKind.SCALAR
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        kind = ColumnKind.ENUM
    return FieldColumn(_scalar_type(inner), nullable, kind)


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """Remove Annotated wrappers and a None member; report whether None was one."""
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = get_args(annotation)
            others = [member for member in members if member is not type(None)]
            nullable = nullable or len(others) < len(members)
            if len(others) != 1:
                raise UnsupportedFieldType(
                    f"a union of several types ({annotation!r}) has no single "
                    "column type"
                )
            annotation = others[0]
            continue
        return annotation, nullable


def _is_json(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is not None:
        return origin in (list, tuple, dict, set, frozenset) or (
            isinstance(origin, type) and issubclass(origin, Mapping | Sequence)
        )
    if not isinstance(annotation, type):
        return False
    if issubclass(annotation, str | bytes):
        return False
    return issubclass(annotation, BaseModel | list | tuple | dict)


def _scalar_type(annotation: Any) -> TypeEngine[Any]:
    if get_origin(annotation) is Literal:
        return _literal_type(annotation)
    if not isinstance(annotation, type):
        raise UnsupportedFieldType(f"{annotation!r} is not a supported type")
    # bool before int and datetime before date: each is a subclass of the other.
    if issubclass(annotation, bool):
        return Boolean()
    if issubclass(annotation, enum.Enum):
        return _enum_type(annotation)
    if issubclass(annotation, int):
        return BigInteger()
    if issubclass(annotation, float):
        return Double()
    if issubclass(annotation, str):
        return Text()
    if issubclass(annotation, datetime):
        return UtcDateTime()
    if issubclass(annotation, bytes):
        return LargeBinary()
    if issubclass(annotation, date):
        raise UnsupportedFieldType(
            "a date without time is not supported; use a UtcDatetime"
        )
    raise UnsupportedFieldType(f"{annotation.__name__} is not a supported type")


def _literal_type(annotation: Any) -> TypeEngine[Any]:
    values = get_args(annotation)
    if all(isinstance(value, bool) for value in values):
        return Boolean()
    if all(isinstance(value, str) for value in values):
        return Text()
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return BigInteger()
    raise UnsupportedFieldType(
        f"{annotation!r} mixes value types; a literal needs all str or all int"
    )


def _enum_type(annotation: type[enum.Enum]) -> TypeEngine[Any]:
    # Enum members are stored by value, so the value type picks the column.
    if issubclass(annotation, str):
        return Text()
    if issubclass(annotation, int):
        return BigInteger()
    raise UnsupportedFieldType(
        f"enum {annotation.__name__} must derive from str or int to be stored"
    )
