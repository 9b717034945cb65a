"""The message contract: envelope, topic models, catalog, normaliser and codec."""

from loomlite.contract.catalog import (
    Catalog,
    Retention,
    TableSpec,
    TopicKind,
    TopicSpec,
    UnitConversion,
)
from loomlite.contract.codec import decode, encode
from loomlite.contract.envelope import ENVELOPE_FIELDS, Envelope, new_id
from loomlite.contract.models import ProcessingError, RecordHeader
from loomlite.contract.normalise import normalise
from loomlite.contract.schemas import export_schemas
from loomlite.contract.topics import CATALOG, ERROR_STAGES, error_topic
from loomlite.contract.types import (
    Binary,
    ContractModel,
    DeviceId,
    JsonObject,
    UtcDatetime,
    as_utc,
)

__all__ = [
    "CATALOG",
    "ENVELOPE_FIELDS",
    "ERROR_STAGES",
    "Binary",
    "Catalog",
    "ContractModel",
    "DeviceId",
    "Envelope",
    "JsonObject",
    "ProcessingError",
    "RecordHeader",
    "Retention",
    "TableSpec",
    "TopicKind",
    "TopicSpec",
    "UnitConversion",
    "UtcDatetime",
    "as_utc",
    "decode",
    "encode",
    "error_topic",
    "export_schemas",
    "new_id",
    "normalise",
]
