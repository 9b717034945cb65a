"""SQLAlchemy tables derived from the topic catalog, and rows from messages.

Each persisted topic gets one table. It starts with an integer surrogate key
``id``, then has one column per field of the topic's current model (envelope
fields first, in declaration order). A unique constraint
``uq_<table>_natural_key`` covers the topic's natural key, and one
``uq_<table>_<column>`` covers each column that the TableSpec lists as
unique. Table and column names come only from the code-defined catalog and
are checked to be plain lower-case identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
)

from loomlite.contract.envelope import Envelope
from loomlite.errors import ContractError
from loomlite.sink.columns import (
    SUPPORTED,
    ColumnKind,
    UnsupportedFieldType,
    field_column,
)

if TYPE_CHECKING:
    from loomlite.contract.catalog import Catalog, TopicSpec

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "NAMING_CONVENTION",
    "build_metadata",
    "row_from_message",
    "table_for",
]

# Every constraint gets a name, so that Alembic's autogenerate can compare
# them and batch mode on SQLite can recreate them. Unique constraints are
# named after their role, not their columns: a natural key of several
# columns would otherwise exceed Postgres' identifier length.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(constraint_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MAX_IDENTIFIER_LENGTH = 63
"""Postgres truncates longer identifiers, which would break migrations."""

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

# A BIGINT primary key is not an alias of SQLite's rowid and would not
# autoincrement there, so SQLite gets INTEGER.
_ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")


def _default_catalog() -> Catalog:
    from loomlite.contract import CATALOG

    return CATALOG


# One MetaData per catalog, because building the tables of the full catalog
# takes about 50 ms on a 2-core machine and one run of ``loomlite up`` needs
# them four times.
_metadata_cache: WeakKeyDictionary[Catalog, MetaData] = WeakKeyDictionary()


def build_metadata(catalog: Catalog | None = None) -> MetaData:
    """Return a MetaData with one table per persisted topic of ``catalog``
    (default: CATALOG).

    Topics that share a model class and natural key may share a table.
    Raises ContractError when a field has no column type, a name is not a
    plain identifier, or two different topics claim the same table.

    Catalogs are immutable, so the MetaData is built once per catalog and
    shared by every caller. Add no tables or constraints to it.
    """
    if catalog is None:
        catalog = _default_catalog()
    metadata = _metadata_cache.get(catalog)
    if metadata is None:
        metadata = _build_metadata(catalog)
        _metadata_cache[catalog] = metadata
    return metadata


def _build_metadata(catalog: Catalog) -> MetaData:
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    owners: dict[str, TopicSpec] = {}
    for spec in catalog.persisted():
        assert spec.table is not None
        owner = owners.setdefault(spec.table.name, spec)
        if owner is spec:
            table_for(spec, metadata)
        elif owner.model is not spec.model or owner.table != spec.table:
            raise ContractError(
                f"topics {owner.name!r} and {spec.name!r} both declare table "
                f"{spec.table.name!r}; topics share a table only with the same "
                "model class and natural key"
            )
    return metadata


def table_for(spec: TopicSpec, metadata: MetaData | None = None) -> Table:
    """Build the table of one persisted topic inside ``metadata``.

    Without ``metadata`` the table gets a fresh MetaData that uses
    NAMING_CONVENTION.
    """
    if spec.table is None:
        raise ContractError(
            f"topic {spec.name!r} is not stored in the database: "
            f"{spec.not_persisted_reason}"
        )
    if metadata is None:
        metadata = MetaData(naming_convention=NAMING_CONVENTION)
    name = spec.table.name
    _check_identifier(spec, "table name", name)
    columns = [Column("id", _ID_TYPE, primary_key=True, autoincrement=True)]
    columns.extend(_field_columns(spec))
    _check_unique_columns(spec, {column.name: column for column in columns})
    key = spec.table.natural_key
    uniques = [UniqueConstraint(*key, name="natural_key")]
    uniques.extend(
        UniqueConstraint(column, name=column) for column in spec.table.unique
    )
    info = {"natural_key": key, "unique": spec.table.unique}
    table = Table(name, metadata, *columns, *uniques, info=info)
    _check_constraint_names(spec, table)
    return table


def _field_columns(spec: TopicSpec) -> Iterable[Column[Any]]:
    for field_name, info in spec.model.model_fields.items():
        _check_identifier(spec, "field name", field_name)
        if field_name == "id":
            raise ContractError(
                f"topic {spec.name!r}: field 'id' clashes with the table's "
                "surrogate key; rename the field"
            )
        try:
            column = field_column(info.annotation)
        except UnsupportedFieldType as exc:
            raise ContractError(
                f"topic {spec.name!r}, field {field_name!r}: {exc}; the sink "
                f"stores {SUPPORTED}"
            ) from exc
        yield Column(field_name, column.type, nullable=column.nullable)


def _check_unique_columns(spec: TopicSpec, columns: dict[str, Column[Any]]) -> None:
    """Check that the natural key and unique columns are scalar fields."""
    assert spec.table is not None
    roles = [("natural key", key) for key in spec.table.natural_key]
    roles.extend(("unique", name) for name in spec.table.unique)
    for role, name in roles:
        column = columns.get(name)
        if column is None:
            raise ContractError(
                f"topic {spec.name!r}: {role} column {name!r} of table "
                f"{spec.table.name!r} is not a field of {spec.model.__name__}"
            )
        if isinstance(column.type, JSON):
            raise ContractError(
                f"topic {spec.name!r}: {role} column {name!r} is a JSON column, "
                "which cannot be compared; use scalar fields"
            )


def _check_identifier(spec: TopicSpec, kind: str, name: str) -> None:
    if not _IDENTIFIER.fullmatch(name) or len(name) > MAX_IDENTIFIER_LENGTH:
        raise ContractError(
            f"topic {spec.name!r}: {kind} {name!r} must be lower-case letters, "
            f"digits and underscores, at most {MAX_IDENTIFIER_LENGTH} characters"
        )


def _check_constraint_names(spec: TopicSpec, table: Table) -> None:
    for constraint in table.constraints:
        name = str(constraint.name)
        if len(name) > MAX_IDENTIFIER_LENGTH:
            raise ContractError(
                f"topic {spec.name!r}: constraint name {name!r} is longer than "
                f"{MAX_IDENTIFIER_LENGTH} characters; shorten the table name "
                "or the natural key column names"
            )


@dataclass(frozen=True, slots=True)
class _RowPlan:
    """The fields of a model, grouped by how a row stores them."""

    spec: TopicSpec
    model: type[Envelope]
    enums: tuple[str, ...]
    json: frozenset[str]


# Keyed by id(spec); each plan keeps its spec alive, so an id is never reused
# for another spec while its entry exists.
_PLANS: dict[int, _RowPlan] = {}


def _plan_for(spec: TopicSpec) -> _RowPlan:
    plan = _PLANS.get(id(spec))
    if plan is None or plan.spec is not spec:
        model = spec.model
        kinds = {
            name: field_column(info.annotation).kind
            for name, info in model.model_fields.items()
        }
        plan = _RowPlan(
            spec=spec,
            model=model,
            enums=tuple(n for n, k in kinds.items() if k is ColumnKind.ENUM),
            json=frozenset(n for n, k in kinds.items() if k is ColumnKind.JSON),
        )
        _PLANS[id(spec)] = plan
    return plan


def row_from_message(spec: TopicSpec, message: Envelope) -> dict[str, Any]:
    """Return the column values of ``message`` for the table of ``spec``.

    Nested values (lists, dicts, models) are serialised as JSON would carry
    them, so bytes inside them become base64 text and datetimes ISO-8601.
    """
    plan = _plan_for(spec)
    if not isinstance(message, plan.model):
        raise ContractError(
            f"topic {spec.name!r} stores {plan.model.__name__} messages, "
            f"got {type(message).__name__}"
        )
    # Pydantic 2 keeps the field values, and only those, in __dict__ (extra
    # values live in __pydantic_extra__), so one C-level copy gives the row.
    row = dict(message.__dict__)
    for name in plan.enums:
        member = row[name]
        if member is not None:
            row[name] = member.value
    # A plain loop, because a comprehension costs a function frame per row
    # before CPython 3.12, and most rows have no nested value to find.
    nested: set[str] = set()
    for name in plan.json:
        if row[name] is not None:
            nested.add(name)
    if nested:
        row.update(message.model_dump(mode="json", include=nested))
    return row
