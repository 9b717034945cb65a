"""Batch endpoints: a JSON array of messages in one request.

Every item is validated first. The valid items are then published, and the
response lists the message ids, the topics really written with their counts,
and the errors of the invalid items by index. When no item is valid the
request fails with 422 and nothing is published. An empty batch gets 400 and
a batch over its limit 422, before any item is looked at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import HTTPException, Request

from loomlite.contract.envelope import Envelope
from loomlite.errors import FieldError, MessageValidationError
from loomlite.gateway.body import error_entries, prefixed, read_json_array
from loomlite.gateway.state import GatewayState
from loomlite.gateway.tracing import RequestTrace

__all__ = ["BATCH_TOPIC", "Batch", "BatchOutcome", "run_batch"]

BATCH_TOPIC = "(batch)"
"""Topic named by a MessageValidationError about a batch as a whole."""

Route = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
"""Return the topic and the payload of one batch item, or raise
MessageValidationError when the item cannot be routed."""


def _no_check(items: list[Any]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch endpoint: its path, item limit, router and whole-batch check."""

    path: str
    tag: str
    max_items: int | None
    topic: Callable[[dict[str, Any]], str] | None = None
    route: Route | None = None
    check: Callable[[list[Any]], None] = _no_check

    def route_item(self, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.route is not None:
            return self.route(item)
        assert self.topic is not None, f"batch {self.path} has a topic or a route"
        return self.topic(item), item


@dataclass(slots=True)
class BatchOutcome:
    total: int
    message_ids: list[str] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)
    failed_items: set[int] = field(default_factory=set)
    field_errors: list[FieldError] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return len(self.message_ids)

    @property
    def failed(self) -> int:
        return len(self.failed_items)

    @property
    def status(self) -> str:
        return "partial" if self.failed_items else "success"

    @property
    def sole_topic(self) -> str | None:
        """The topic written when every item went to one topic, else None."""
        return next(iter(self.topics)) if len(self.topics) == 1 else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return error_entries(self.field_errors)


async def _read_items(request: Request, batch: Batch) -> list[Any]:
    items = await read_json_array(request)
    if not items:
        raise HTTPException(
            status_code=400, detail="the batch is empty; send at least one item"
        )
    if batch.max_items is not None and len(items) > batch.max_items:
        raise MessageValidationError(
            BATCH_TOPIC,
            [
                FieldError(
                    "",
                    f"the batch has {len(items)} items, more than the limit of "
                    f"{batch.max_items}; split it into smaller batches",
                )
            ],
        )
    batch.check(items)
    return items


async def run_batch(
    request: Request,
    batch: Batch,
    state: GatewayState,
    trace: RequestTrace,
    received_at: datetime,
) -> BatchOutcome:
    """Validate every item of the request's batch, then publish the valid ones.

    Raises MessageValidationError listing every item's errors when none is
    valid.
    """
    items = await _read_items(request, batch)
    outcome = BatchOutcome(total=len(items))
    valid: list[tuple[str, Envelope]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            outcome.failed_items.add(index)
            outcome.field_errors.append(
                FieldError(f"[{index}]", "expected a JSON object")
            )
            continue
        try:
            topic, payload = batch.route_item(item)
            message = await state.publisher.validate(
                topic, payload, trace, received_at=received_at
            )
        except MessageValidationError as exc:
            outcome.failed_items.add(index)
            outcome.field_errors.extend(prefixed(index, exc.errors))
            continue
        valid.append((topic, message))
    if not valid:
        raise MessageValidationError(BATCH_TOPIC, outcome.field_errors)
    written: Counter[str] = Counter()
    for topic, message in valid:
        accepted = await state.publisher.publish(topic, message)
        written[accepted.topic] += 1
        outcome.message_ids.append(accepted.message_id)
    outcome.topics = dict(written)
    return outcome
