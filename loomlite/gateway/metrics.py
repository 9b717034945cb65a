"""Gateway counters, rendered in the Prometheus text exposition format 0.0.4.

The names follow production's API (``http_requests_total`` and
``http_request_duration_seconds``) with a ``loomlite_gateway_`` prefix, plus
counters production declared but never incremented: messages written per
topic and rejections per reason.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware"]

_PREFIX = "loomlite_gateway_"
# Upper bounds of the latency histogram, in seconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    inner = ",".join(f'{name}="{_label(value)}"' for name, value in labels.items())
    return "{" + inner + "}"


class Metrics:
    """Counters of one gateway. ``render`` returns the Prometheus text."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.duration_buckets: defaultdict[tuple[str, str], list[int]] = defaultdict(
            lambda: [0] * len(_BUCKETS)
        )
        self.duration_sum: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.duration_count: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.messages: defaultdict[str, int] = defaultdict(int)
        self.rejections: defaultdict[str, int] = defaultdict(int)
        self.websocket_connections = 0

    def observe_request(
        self, method: str, route: str, status: int, seconds: float
    ) -> None:
        self.requests[(method, route, str(status))] += 1
        key = (method, route)
        buckets = self.duration_buckets[key]
        for index, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                buckets[index] += 1
        self.duration_sum[key] += seconds
        self.duration_count[key] += 1

    def written(self, topic: str, count: int = 1) -> None:
        self.messages[topic] += count

    def rejected(self, reason: str) -> None:
        self.rejections[reason] += 1

    def render(self) -> str:
        lines: list[str] = []
        lines += self._counter(
            "http_requests_total",
            "HTTP requests by method, route and status code.",
            (
                (_labels(method=m, route=r, status_code=s), value)
                for (m, r, s), value in sorted(self.requests.items())
            ),
        )
        lines += self._histogram()
        lines += self._counter(
            "messages_total",
            "Messages the broker accepted, by canonical topic.",
            ((_labels(topic=t), v) for t, v in sorted(self.messages.items())),
        )
        lines += self._counter(
            "rejections_total",
            "Requests or messages rejected before the broker, by reason.",
            ((_labels(reason=r), v) for r, v in sorted(self.rejections.items())),
        )
        name = f"{_PREFIX}websocket_connections"
        lines += [
            f"# HELP {name} Open audio WebSocket connections.",
            f"# TYPE {name} gauge",
            f"{name} {self.websocket_connections}",
        ]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _counter(
        name: str, description: str, samples: Iterable[tuple[str, int]]
    ) -> list[str]:
        full = f"{_PREFIX}{name}"
        lines = [f"# HELP {full} {description}", f"# TYPE {full} counter"]
        lines += [f"{full}{labels} {value}" for labels, value in samples]
        return lines

    def _histogram(self) -> list[str]:
        name = f"{_PREFIX}http_request_duration_seconds"
        lines = [
            f"# HELP {name} Time from request start to the end of the response.",
            f"# TYPE {name} histogram",
        ]
        for (method, route), buckets in sorted(self.duration_buckets.items()):
            for bound, count in zip(_BUCKETS, buckets, strict=True):
                labels = _labels(method=method, route=route, le=f"{bound:g}")
                lines.append(f"{name}_bucket{labels} {count}")
            count = self.duration_count[(method, route)]
            labels = _labels(method=method, route=route, le="+Inf")
            lines.append(f"{name}_bucket{labels} {count}")
            plain = _labels(method=method, route=route)
            lines.append(f"{name}_sum{plain} {self.duration_sum[(method, route)]:.6f}")
            lines.append(f"{name}_count{plain} {count}")
        return lines


class MetricsMiddleware:
    """Count every HTTP request by its route template and status code."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            # The route template keeps the label set small; unmatched paths
            # share one label instead of one per path.
            template = getattr(route, "path", None) or "(unmatched)"
            seconds = time.perf_counter() - started
            self.metrics.observe_request(scope["method"], template, status, seconds)
