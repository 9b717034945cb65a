"""Column types the sink adds to SQLAlchemy's own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic_core import PydanticSerializationError, SchemaSerializer, core_schema
from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from loomlite.contract.types import as_utc

__all__ = ["UtcDateTime", "utc_text"]

# pydantic-core writes a UTC datetime as "2024-06-01T08:00:00.180000Z", or
# without the fraction when it is zero. That took under half the time of
# datetime.isoformat (pydantic-core 2.50, CPython 3.11), and formatting a
# whole column in one call saves more. _stored_form turns that text into the
# stored form.
_serialize_datetime = SchemaSerializer(core_schema.datetime_schema()).to_python
_serialize_datetimes = SchemaSerializer(
    core_schema.list_schema(core_schema.nullable_schema(core_schema.datetime_schema()))
).to_python


def _stored_form(text: Any) -> str | None:
    """Turn pydantic-core's text of a datetime at offset zero into the text
    that SQLite stores; return None for any other text."""
    if type(text) is str and text[-1:] == "Z":
        if len(text) == 27:
            return text[:26] + "+00:00"
        if len(text) == 20:
            return text[:19] + ".000000+00:00"
    return None


def utc_text(value: datetime) -> str:
    """Format an aware UTC datetime as the fixed-width text SQLite stores,
    e.g. ``2024-06-01T08:00:00.180000+00:00``.

    Any other datetime gets ``isoformat(timespec="microseconds")``, which
    keeps its own offset.
    """
    text = _stored_form(_serialize_datetime(value, mode="json"))
    if text is None:
        return value.isoformat(timespec="microseconds")
    return text


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    On write a naive value is taken as UTC and an aware one is converted to
    UTC, the contract's rule for ``UtcDatetime``. Postgres stores
    ``TIMESTAMP WITH TIME ZONE``. SQLite has no timestamp type, so it stores
    fixed-width ISO-8601 text with microseconds and a ``+00:00`` offset, whose
    text order is the time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # The sink binds every timestamp through this, so SQLite gets a short
        # path for the usual value: an aware datetime already in UTC.
        process_bind_param = self.process_bind_param

        def process(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is UTC:
                return utc_text(value)
            return process_bind_param(value, dialect)

        return process

    def column_bind_processor(
        self, dialect: Dialect
    ) -> Callable[[Sequence[Any]], list[Any]] | None:
        """Return a function that binds a whole column of values at once and
        returns what the bind processor returns for each value.

        It formats the column in one pydantic-core call. A value that call
        cannot take, or whose text is not at offset zero, goes through the
        bind processor, which also raises for a non-datetime. Returns None
        for dialects other than SQLite, which bind each value.
        """
        process = self.bind_processor(dialect)
        if dialect.name != "sqlite" or process is None:
            return None

        def process_column(values: Sequence[Any]) -> list[Any]:
            try:
                texts = _serialize_datetimes(
                    list(values), mode="json", warnings="error"
                )
            except PydanticSerializationError:
                return [process(value) for value in values]
            return [
                _stored_form(text) or process(value)
                for text, value in zip(texts, values, strict=True)
            ]

        return process_column

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | str | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(
                f"expected a datetime for a UtcDateTime column, got {value!r}"
            )
        value = as_utc(value)
        if dialect.name == "sqlite":
            return utc_text(value)
        return value

    def process_result_value(
        self, value: datetime | str | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return as_utc(value)
