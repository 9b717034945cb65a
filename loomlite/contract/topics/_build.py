"""Small helpers that keep the topic declarations short."""

from __future__ import annotations

from datetime import timedelta

from loomlite.contract.catalog import Retention, TableSpec

__all__ = ["NO_STAGE_YET", "WEEK", "days", "table"]

NO_STAGE_YET = (
    "No loomlite stage produces this data yet; the topic exists so that "
    "production's name resolves and a future stage has a contract to write."
)


def days(count: int) -> Retention:
    """Return a retention that keeps records for ``count`` days."""
    return Retention(max_age=timedelta(days=count))


WEEK = days(7)
"""Retention of topics that production's API did not pre-create: Kafka's
default of 168 hours."""


def table(name: str, *key: str, unique: tuple[str, ...] = ()) -> TableSpec:
    """Return table ``name`` keyed on device_id, then ``key``, then recorded_at.

    ``unique`` names columns that are unique on their own.
    """
    return TableSpec(name, ("device_id", *key, "recorded_at"), unique)
