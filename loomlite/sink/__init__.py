"""The database sink: catalog tables, engines, the batching writer, migrations.

``migrate`` (Alembic upgrades, downgrades and checks) is imported on its own
as ``loomlite.sink.migrate``.
"""

from loomlite.sink.engine import create_engine, database_url, display_url
from loomlite.sink.tables import (
    NAMING_CONVENTION,
    build_metadata,
    row_from_message,
    table_for,
)
from loomlite.sink.types import UtcDateTime
from loomlite.sink.writer import Sink, SinkState, SinkStatistics

__all__ = [
    "NAMING_CONVENTION",
    "Sink",
    "SinkState",
    "SinkStatistics",
    "UtcDateTime",
    "build_metadata",
    "create_engine",
    "database_url",
    "display_url",
    "row_from_message",
    "table_for",
]
