"""``POST /system/consumer_activity/log`` and ``GET /system/consumer_activity``.

A consumer outside the runtime reports the last message it read and the last
one it wrote. The sink's ``consumer_activity`` table keeps one row per
consumer id. The listing returns those rows and, whether or not any client
reported, the runtime's own consumer groups with their lag and the time each
last took records from the broker.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from loomlite.contract.catalog import Catalog
from loomlite.contract.normalise import field_errors
from loomlite.contract.types import MAX_JSON_DEPTH, UtcDatetime, too_deep_path
from loomlite.errors import FieldError, MessageValidationError, UnknownTopicError
from loomlite.gateway.auth import require_api_key
from loomlite.gateway.body import read_json_object
from loomlite.gateway.routes.common import add_post, trace_fields
from loomlite.gateway.routes.database import (
    CONTROL_CHARACTER,
    DATABASE_ERRORS,
    DATABASE_RESPONSES,
    database_unavailable,
    jsonable,
    require_sink,
)
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.state import GatewayState, gateway_state, iso
from loomlite.gateway.tracing import request_trace
from loomlite.sink.consumer_activity import (
    ConsumerActivity,
    MessageActivity,
    read_consumer_activity,
    record_consumer_activity,
)
from loomlite.sink.engine import read_transaction

__all__ = [
    "MAX_REPORTED_MESSAGE_BYTES",
    "ConsumerActivityRequest",
    "add_consumer_activity_routes",
]

MAX_REPORTED_MESSAGE_BYTES = 1_048_576
"""Maximum size of a reported message as compact JSON text, the default
``max.request.size`` of a Kafka producer."""

# Kafka's rule for topic names: at most 249 of these characters.
TOPIC_PATTERN = r"^[A-Za-z0-9._-]{1,249}$"

STATEMENT_TIMEOUT_MS = 5_000

_SOURCE = "(consumer activity)"


class ReportedMessage(BaseModel):
    """A message that a consumer read or wrote."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(pattern=TOPIC_PATTERN, description="The Kafka topic.")
    message: dict[str, Any] = Field(description="The message as a JSON object.")
    timestamp: UtcDatetime = Field(
        description="When the consumer read or wrote it; without an offset, UTC."
    )

    @field_validator("topic")
    @classmethod
    def _check_topic(cls, value: str) -> str:
        # Kafka reserves these two names, which the pattern lets through.
        if value in (".", ".."):
            raise ValueError(f"{value!r} is not a valid Kafka topic name")
        return value


class ConsumerActivityRequest(BaseModel):
    """The body of ``POST /system/consumer_activity/log``. At least one of
    ``last_consumed`` and ``last_produced`` is required."""

    model_config = ConfigDict(extra="forbid")

    consumer_id: str = Field(
        min_length=1,
        max_length=256,
        description="The consumer's unique id, such as its service name.",
    )
    last_consumed: ReportedMessage | None = None
    last_produced: ReportedMessage | None = None

    @field_validator("consumer_id")
    @classmethod
    def _check_consumer_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if CONTROL_CHARACTER.search(value):
            raise ValueError("must not contain control characters")
        return value

    @model_validator(mode="after")
    def _check_reports(self) -> Self:
        if self.last_consumed is None and self.last_produced is None:
            raise ValueError(
                "missing last_consumed and last_produced; send one or both"
            )
        return self


def _non_finite_path(value: Any, path: str) -> str | None:
    """Return the path of the first NaN or infinity in ``value``, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        inner = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        found = _non_finite_path(item, inner)
        if found is not None:
            return found
    return None


def _check_message(name: str, reported: ReportedMessage | None) -> list[FieldError]:
    if reported is None:
        return []
    path = f"{name}.message"
    deep = too_deep_path(reported.message, path)
    if deep is not None:
        message = (
            f"nested more than the limit of {MAX_JSON_DEPTH} levels; "
            "report a flatter message"
        )
        return [FieldError(deep, message)]
    found = _non_finite_path(reported.message, path)
    if found is not None:
        return [FieldError(found, "NaN and infinity are not allowed")]
    text = json.dumps(reported.message, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > MAX_REPORTED_MESSAGE_BYTES:
        return [
            FieldError(
                path,
                f"the message is {size} bytes as JSON, more than the limit of "
                f"{MAX_REPORTED_MESSAGE_BYTES}; report a summary of it instead",
            )
        ]
    return []


def _parse(body: dict[str, Any]) -> ConsumerActivityRequest:
    try:
        report = ConsumerActivityRequest.model_validate(body)
    except ValidationError as exc:
        raise MessageValidationError(_SOURCE, field_errors(exc)) from None
    errors = _check_message("last_consumed", report.last_consumed)
    errors += _check_message("last_produced", report.last_produced)
    if errors:
        raise MessageValidationError(_SOURCE, errors)
    return report


def _canonical_topic(catalog: Catalog, topic: str) -> str:
    """Return the catalog's name for a known topic or alias, else ``topic``."""
    try:
        return catalog.resolve(topic)
    except UnknownTopicError:
        return topic


def _activity(
    catalog: Catalog, reported: ReportedMessage | None
) -> MessageActivity | None:
    if reported is None:
        return None
    return MessageActivity(
        topic=_canonical_topic(catalog, reported.topic),
        message=reported.message,
        timestamp=reported.timestamp,
    )


async def log_activity(request: Request) -> JSONResponse:
    state = gateway_state(request)
    report = _parse(await read_json_object(request))
    sink = require_sink(request)
    activity = ConsumerActivity(
        consumer_id=report.consumer_id,
        last_consumed=_activity(state.catalog, report.last_consumed),
        last_produced=_activity(state.catalog, report.last_produced),
        updated_at=state.clock.now(),
    )
    try:
        async with sink.engine.begin() as connection:
            await record_consumer_activity(connection, activity)
    except DATABASE_ERRORS as exc:
        action = f"storing the activity of consumer {report.consumer_id[:100]!r}"
        raise database_unavailable(request, action, exc) from exc
    content = {
        "status": "success",
        "consumer_id": activity.consumer_id,
        "updated_at": iso(activity.updated_at),
        "last_consumed_topic": _topic_of(activity.last_consumed),
        "last_produced_topic": _topic_of(activity.last_produced),
        **trace_fields(request_trace(request)),
    }
    return JSONResponse(content, status_code=200)


def _topic_of(activity: MessageActivity | None) -> str | None:
    return None if activity is None else activity.topic


def _reported(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    if row[f"{prefix}_topic"] is None:
        return None
    return {
        "topic": row[f"{prefix}_topic"],
        "message": jsonable(row[f"{prefix}_message"]),
        "timestamp": jsonable(row[f"{prefix}_at"]),
    }


async def _recorded_consumers(request: Request, limit: int) -> dict[str, Any]:
    sink = gateway_state(request).sink()
    if sink is None:
        return {"database": None, "consumers": []}
    try:
        # Inside the try: a sink that closes meanwhile raises LifecycleError.
        engine = sink.engine
        async with read_transaction(
            engine, statement_timeout_ms=STATEMENT_TIMEOUT_MS
        ) as connection:
            rows = await read_consumer_activity(connection, limit=limit)
    except DATABASE_ERRORS as exc:
        raise database_unavailable(request, "reading consumer activity", exc) from exc
    consumers = [
        {
            "consumer_id": row["consumer_id"],
            "last_consumed": _reported(row, "last_consumed"),
            "last_produced": _reported(row, "last_produced"),
            "updated_at": jsonable(row["updated_at"]),
        }
        for row in rows
    ]
    return {"database": engine.dialect.name, "consumers": consumers}


def runtime_groups(state: GatewayState) -> list[dict[str, Any]]:
    """Return the runtime's consumer groups with their lag and last activity."""
    if state.statistics is None:
        return []
    statistics = state.statistics()
    owners: dict[str, tuple[str, str]] = {}
    last: dict[str, datetime] = {}
    for component in statistics.components.values():
        for subscription in component.subscriptions:
            owners[subscription.group] = (component.name, subscription.stage)
            moment = subscription.last_message_at
            if moment is not None and (
                subscription.group not in last or moment > last[subscription.group]
            ):
                last[subscription.group] = moment
    partitions = defaultdict(list)
    if statistics.broker is not None:
        for partition in statistics.broker.groups:
            partitions[partition.group].append(partition)
    groups = []
    for group in sorted(partitions):
        members = partitions[group]
        owner = owners.get(group)
        groups.append(
            {
                "group": group,
                "component": None if owner is None else owner[0],
                "stage": None if owner is None else owner[1],
                "topics": sorted({p.topic for p in members}),
                "lag": sum(p.lag for p in members),
                "consumed_total": sum(p.consumed_total for p in members),
                "consume_rate": round(sum(p.consume_rate for p in members), 3),
                "members": max(p.members for p in members),
                "last_message_at": jsonable(last.get(group)),
            }
        )
    return groups


def add_consumer_activity_routes(app: FastAPI, schemas: SchemaRegistry) -> None:
    add_post(
        app,
        "/system/consumer_activity/log",
        log_activity,
        body=schemas.model(ConsumerActivityRequest),
        status_code=200,
        summary="Record the last message a consumer read and wrote",
        tag="system",
        extra_responses={503: DATABASE_RESPONSES[503]},
    )

    async def list_activity(
        request: Request,
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=1000,
                description="Maximum number of recorded consumers to list.",
            ),
        ] = 100,
    ) -> dict[str, Any]:
        """Return the consumers that reported their activity, newest first,
        and the runtime's consumer groups."""
        state = gateway_state(request)
        recorded = await _recorded_consumers(request, limit)
        return {
            "status": "success",
            "generated_at": iso(state.clock.now()),
            **recorded,
            "groups": runtime_groups(state),
            **trace_fields(request_trace(request)),
        }

    app.add_api_route(
        "/system/consumer_activity",
        list_activity,
        methods=["GET"],
        dependencies=[Depends(require_api_key)],
        summary="List consumer activity and the runtime's consumer groups",
        tags=["system"],
        responses=DATABASE_RESPONSES,
    )
