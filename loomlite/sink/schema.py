"""The whole schema that the sink's migrations own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import MetaData

from loomlite.errors import ContractError
from loomlite.sink.consumer_activity import CONSUMER_ACTIVITY_METADATA
from loomlite.sink.tables import build_metadata

if TYPE_CHECKING:
    from loomlite.contract.catalog import Catalog

__all__ = ["schema_metadata", "schema_table_names"]


def schema_metadata(catalog: Catalog | None = None) -> tuple[MetaData, ...]:
    """Return the topic tables of ``catalog`` (default: CATALOG) and the
    sink's own tables, each group in its MetaData.

    Raises ContractError when a topic's table takes the name of one of the
    sink's own tables.
    """
    topics = build_metadata(catalog)
    clash = set(topics.tables) & set(CONSUMER_ACTIVITY_METADATA.tables)
    if clash:
        raise ContractError(
            f"topic table {sorted(clash)[0]!r} clashes with the sink's own "
            "table of that name; rename the topic's table"
        )
    return topics, CONSUMER_ACTIVITY_METADATA


def schema_table_names(catalog: Catalog | None = None) -> set[str]:
    """Return the name of every table in ``schema_metadata(catalog)``."""
    return {name for metadata in schema_metadata(catalog) for name in metadata.tables}
