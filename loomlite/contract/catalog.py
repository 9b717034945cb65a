"""Topic specifications and the catalog that resolves names and aliases."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from loomlite.contract.envelope import Envelope
from loomlite.errors import ContractError, UnknownTopicError

__all__ = [
    "Catalog",
    "Retention",
    "TableSpec",
    "TopicKind",
    "TopicSpec",
    "UnitConversion",
]


class TopicKind(enum.StrEnum):
    """The kind of data a topic carries."""

    RAW = "raw"  # taken in from a device, client or fetcher
    DERIVED = "derived"  # produced by a processing stage
    TASK = "task"  # a job request for a worker
    ERROR = "error"  # messages a stage failed on
    INTERNAL = "internal"  # loomlite's own bookkeeping


@dataclass(frozen=True, slots=True)
class Retention:
    """How long a topic keeps records; a limit of None means no limit."""

    max_age: timedelta | None = timedelta(days=7)
    max_records: int | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise ValueError(f"max_age must be positive, got {self.max_age!r}")
        for name in ("max_records", "max_bytes"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1, got {limit!r}")


@dataclass(frozen=True, slots=True)
class TableSpec:
    """Where the sink stores a topic: table name and natural key columns.

    The natural key makes writes idempotent and always includes the time
    column ``recorded_at``. ``unique`` names columns that must each be unique
    on their own, such as a producer's dedupe hash; NULLs never collide.
    """

    name: str
    natural_key: tuple[str, ...] = ("device_id", "recorded_at")
    unique: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if "recorded_at" not in self.natural_key:
            raise ValueError(
                f"natural key of table {self.name!r} must include 'recorded_at', "
                f"got {self.natural_key!r}"
            )


@dataclass(frozen=True, slots=True)
class UnitConversion:
    """A legacy field whose value is ``target`` in another unit.

    The normaliser multiplies the legacy value by ``factor`` and rounds the
    product to the nearest integer, e.g. ``duration_seconds`` times 1000
    gives ``duration_ms``.
    """

    target: str
    factor: int


@dataclass(frozen=True)
class TopicSpec:
    """The declaration of one topic.

    ``models`` maps schema version to model class; the highest version is the
    one producers write. A topic is either stored in ``table`` or carries
    ``not_persisted_reason``. ``field_aliases`` maps each legacy field name
    seen in production payloads to its canonical field; a dotted key such as
    ``data.message_id`` names a field inside the nested ``data{}`` object,
    which is renamed before the nested fields are merged into the top level.
    ``unit_conversions`` maps legacy fields that carry a canonical field in
    another unit.
    """

    name: str
    kind: TopicKind
    description: str
    models: Mapping[int, type[Envelope]]
    aliases: tuple[str, ...] = ()
    retention: Retention = field(default_factory=Retention)
    partitions: int = 3
    table: TableSpec | None = None
    not_persisted_reason: str | None = None
    field_aliases: Mapping[str, str] = field(default_factory=dict)
    unit_conversions: Mapping[str, UnitConversion] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError(f"topic {self.name!r} declares no model")
        for version, model in self.models.items():
            if model.version != version:
                raise ValueError(
                    f"topic {self.name!r}: model {model.__name__} has version "
                    f"{model.version} but is registered as version {version}"
                )
        if (self.table is None) == (self.not_persisted_reason is None):
            raise ValueError(
                f"topic {self.name!r} needs exactly one of a table or a "
                "not_persisted_reason"
            )
        if self.partitions < 1:
            raise ValueError(f"topic {self.name!r}: partitions must be at least 1")
        self._check_fields()
        object.__setattr__(self, "models", MappingProxyType(dict(self.models)))
        object.__setattr__(
            self, "field_aliases", MappingProxyType(dict(self.field_aliases))
        )
        object.__setattr__(
            self, "unit_conversions", MappingProxyType(dict(self.unit_conversions))
        )

    def _check_fields(self) -> None:
        """Check that aliases, conversions and the natural key name model fields."""
        fields = self.model.model_fields
        renames = {
            **self.field_aliases,
            **{
                old: conversion.target
                for old, conversion in self.unit_conversions.items()
            },
        }
        for old, new in renames.items():
            if new not in fields:
                raise ValueError(
                    f"topic {self.name!r}: field alias {old!r} points to "
                    f"{new!r}, which is not a field of {self.model.__name__}"
                )
            if old in fields:
                raise ValueError(
                    f"topic {self.name!r}: field alias {old!r} is itself a "
                    f"field of {self.model.__name__}"
                )
        if self.table is not None:
            missing = [key for key in self.table.natural_key if key not in fields]
            if missing:
                raise ValueError(
                    f"topic {self.name!r}: natural key column(s) {missing!r} of "
                    f"table {self.table.name!r} are not fields of "
                    f"{self.model.__name__}"
                )

    @property
    def version(self) -> int:
        """The current schema version."""
        return max(self.models)

    @property
    def model(self) -> type[Envelope]:
        """The model of the current schema version."""
        return self.models[self.version]

    @property
    def persisted(self) -> bool:
        return self.table is not None


class Catalog:
    """An immutable set of topics, looked up by canonical name or alias."""

    def __init__(self, topics: Iterable[TopicSpec]) -> None:
        self._topics: dict[str, TopicSpec] = {}
        self._names: dict[str, str] = {}
        self._tables: dict[str, TopicSpec] = {}
        for spec in topics:
            self._add(spec)

    def _add(self, spec: TopicSpec) -> None:
        self._check_table(spec)
        for name in (spec.name, *spec.aliases):
            owner = self._names.get(name)
            if owner is not None:
                raise ContractError(
                    f"topic name {name!r} is declared by both {owner!r} and "
                    f"{spec.name!r}"
                )
            self._names[name] = spec.name
        self._topics[spec.name] = spec

    def _check_table(self, spec: TopicSpec) -> None:
        """Let two topics share a table only with the same model and key."""
        if spec.table is None:
            return
        table = spec.table
        owner = self._tables.setdefault(table.name, spec)
        if owner is spec or owner.table is None:
            return
        if owner.model is not spec.model:
            raise ContractError(
                f"topics {owner.name!r} ({owner.model.__name__}) and "
                f"{spec.name!r} ({spec.model.__name__}) both declare table "
                f"{table.name!r}; topics may share a table only when they "
                "share a model class, so give one of them its own table"
            )
        if owner.table != table:
            raise ContractError(
                f"topics {owner.name!r} and {spec.name!r} declare table "
                f"{table.name!r} with different natural keys "
                f"{owner.table.natural_key!r} and {table.natural_key!r}"
            )

    def __iter__(self) -> Iterator[TopicSpec]:
        return iter(self._topics.values())

    def __len__(self) -> int:
        return len(self._topics)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def resolve(self, name: str) -> str:
        """Return the canonical name for a canonical name or alias."""
        try:
            return self._names[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._names, n=3, cutoff=0.75)
            raise UnknownTopicError(name, close) from None

    def get(self, name: str) -> TopicSpec:
        """Return the spec of a topic given its canonical name or an alias."""
        return self._topics[self.resolve(name)]

    @property
    def names(self) -> tuple[str, ...]:
        """Canonical names in declaration order."""
        return tuple(self._topics)

    def persisted(self) -> Iterator[TopicSpec]:
        """Topics that the sink stores."""
        return (spec for spec in self if spec.table is not None)

    def by_kind(self, kind: TopicKind) -> Iterator[TopicSpec]:
        return (spec for spec in self if spec.kind is kind)
