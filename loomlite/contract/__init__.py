"""The message contract: envelope, topic models, catalog and normaliser."""

from loomlite.contract.catalog import (
    Catalog,
    Retention,
    TableSpec,
    TopicKind,
    TopicSpec,
)
from loomlite.contract.envelope import ENVELOPE_FIELDS, Envelope, new_id
from loomlite.contract.types import (
    Binary,
    ContractModel,
    DeviceId,
    JsonObject,
    UtcDatetime,
    as_utc,
)

__all__ = [
    "ENVELOPE_FIELDS",
    "Binary",
    "Catalog",
    "ContractModel",
    "DeviceId",
    "Envelope",
    "JsonObject",
    "Retention",
    "TableSpec",
    "TopicKind",
    "TopicSpec",
    "UtcDatetime",
    "as_utc",
    "new_id",
]
