"""The state that every route of one gateway shares, on ``app.state.gateway``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from loomlite.clock import Clock
from loomlite.contract.catalog import Catalog
from loomlite.gateway.metrics import Metrics
from loomlite.gateway.publisher import Publisher

if TYPE_CHECKING:
    from loomlite.runtime.runtime import RuntimeStatistics
    from loomlite.sink import Sink

__all__ = ["GatewayState", "gateway_state", "iso"]


@dataclass(slots=True)
class GatewayState:
    """The publisher, the key and the counters of one gateway.

    ``ready`` returns whether the broker takes messages. ``connections``
    counts open audio WebSocket connections per device id. ``sink`` returns
    the running sink that the database endpoints read and write, or None
    while there is none. ``statistics`` returns the runtime's snapshot, or
    is None outside a runtime.
    """

    publisher: Publisher
    api_key: str
    metrics: Metrics
    clock: Clock
    catalog: Catalog
    max_body_bytes: int
    ready: Callable[[], bool]
    version: str
    connections: dict[str, int] = field(default_factory=dict)
    sink: Callable[[], Sink | None] = lambda: None
    statistics: Callable[[], RuntimeStatistics] | None = None


def gateway_state(connection: HTTPConnection) -> GatewayState:
    state: GatewayState = connection.app.state.gateway
    return state


def iso(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 in UTC with a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
