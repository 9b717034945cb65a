"""The ``consumer_activity`` table: the last message each consumer reported.

Consumers outside the runtime (a worker of the production services, a
script) post their activity to the gateway's ``/system/consumer_activity/log``.
The table keeps one row per ``consumer_id``: the topic, JSON and time of the
last message the consumer read and of the last one it wrote. A report
replaces the half it carries and keeps the other half, so a consumer may
report reads and writes separately.

The table is not a topic's table, so it lives in a MetaData of its own;
``schema_metadata`` joins it with the catalog's tables for Alembic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.dialects import sqlite

from loomlite.errors import SinkError
from loomlite.sink.tables import NAMING_CONVENTION
from loomlite.sink.types import UtcDateTime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "CONSUMER_ACTIVITY_METADATA",
    "ConsumerActivity",
    "MessageActivity",
    "consumer_activity_table",
    "read_consumer_activity",
    "record_consumer_activity",
]

CONSUMER_ACTIVITY_METADATA = MetaData(naming_convention=NAMING_CONVENTION)

consumer_activity_table = Table(
    "consumer_activity",
    CONSUMER_ACTIVITY_METADATA,
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("consumer_id", Text(), nullable=False),
    Column("last_consumed_topic", Text(), nullable=True),
    Column("last_consumed_message", JSON(none_as_null=True), nullable=True),
    Column("last_consumed_at", UtcDateTime(), nullable=True),
    Column("last_produced_topic", Text(), nullable=True),
    Column("last_produced_message", JSON(none_as_null=True), nullable=True),
    Column("last_produced_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("consumer_id", name="consumer_id"),
)


@dataclass(frozen=True, slots=True)
class MessageActivity:
    """One message a consumer read or wrote: its topic, JSON and time."""

    topic: str
    message: Mapping[str, Any]
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class ConsumerActivity:
    """A consumer's report. A half that is None leaves the stored half as it is."""

    consumer_id: str
    last_consumed: MessageActivity | None
    last_produced: MessageActivity | None
    updated_at: datetime


def _columns(prefix: str, activity: MessageActivity | None) -> dict[str, Any]:
    if activity is None:
        return {}
    return {
        f"{prefix}_topic": activity.topic,
        f"{prefix}_message": dict(activity.message),
        f"{prefix}_at": activity.timestamp,
    }


async def record_consumer_activity(
    connection: AsyncConnection, activity: ConsumerActivity
) -> None:
    """Insert the consumer's row, or update the columns its report carries.

    Runs one INSERT ... ON CONFLICT (consumer_id) DO UPDATE on the caller's
    connection, so the caller owns the transaction.
    """
    values = {
        **_columns("last_consumed", activity.last_consumed),
        **_columns("last_produced", activity.last_produced),
        "updated_at": activity.updated_at,
    }
    table = consumer_activity_table
    dialect = connection.dialect.name
    if dialect == "sqlite":
        insert: Any = sqlite.insert(table)
    elif dialect == "postgresql":
        # Imported here, so that a SQLite run never loads the Postgres dialect.
        from sqlalchemy.dialects import postgresql

        insert = postgresql.insert(table)
    else:
        raise SinkError(
            f"consumer activity is stored in SQLite or Postgres, not {dialect!r}",
            table=table.name,
        )
    statement = insert.values(consumer_id=activity.consumer_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.consumer_id],
        set_={name: statement.excluded[name] for name in values},
    )
    await connection.execute(statement)


async def read_consumer_activity(
    connection: AsyncConnection, *, limit: int
) -> list[dict[str, Any]]:
    """Return up to ``limit`` rows, the most recently updated first."""
    table = consumer_activity_table
    query = (
        select(table)
        .order_by(table.c.updated_at.desc(), table.c.consumer_id)
        .limit(limit)
    )
    result = await connection.execute(query)
    return [dict(row) for row in result.mappings()]
