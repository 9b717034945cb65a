"""The graph of components, topics and tables, and the lint run at start."""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from loomlite.contract import error_topic
from loomlite.contract.catalog import Catalog, TopicKind
from loomlite.contract.envelope import Envelope
from loomlite.errors import (
    ComponentError,
    ContractError,
    TopologyError,
    UnknownTopicError,
)
from loomlite.runtime.component import Component
from loomlite.runtime.subscription import Subscription, handler_model

__all__ = [
    "Edge",
    "EdgeKind",
    "LintReport",
    "Node",
    "NodeKind",
    "Route",
    "Topology",
]

logger = logging.getLogger(__name__)

EXTERNAL = "external"


class NodeKind(enum.StrEnum):
    COMPONENT = "component"
    TOPIC = "topic"
    TABLE = "table"
    EXTERNAL = "external"  # code outside the components: tests, the HTTP gateway


@dataclass(frozen=True, slots=True, order=True)
class Node:
    kind: NodeKind
    name: str


class EdgeKind(enum.StrEnum):
    PUBLISHES = "publishes"  # component or external code -> topic
    CONSUMES = "consumes"  # topic -> component
    ERRORS = "errors"  # component -> error topic of one of its stages
    STORES = "stores"  # topic -> table


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed edge; ``stage`` and ``group`` are set on CONSUMES and ERRORS edges."""

    source: Node
    target: Node
    kind: EdgeKind
    stage: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """A subscription resolved against the catalog."""

    component: Component
    subscription: Subscription
    topic: str
    group: str
    model: type[Envelope]
    error_topic: str


@dataclass(frozen=True, slots=True)
class LintReport:
    """The problems the lint found: errors stop the start, warnings do not."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise TopologyError listing every error, if there is any."""
        if self.errors:
            raise TopologyError(self.errors)


class Topology:
    """Components, the topics they publish and consume, and the tables behind them.

    Build it with ``from_components``. ``inputs`` names topics that code
    outside the components publishes to (tests, the HTTP gateway), so that
    consuming them is not reported as an orphan.
    """

    def __init__(
        self,
        components: Iterable[Component],
        catalog: Catalog,
        *,
        inputs: Iterable[str] = (),
    ) -> None:
        self.components = tuple(components)
        self.catalog = catalog
        self._problems: list[str] = []
        for component in self.components:
            try:
                component.validate_declaration()
            except ComponentError as exc:
                self._problems.append(str(exc))
        self.inputs = self._resolve_inputs(inputs)
        self.publications = self._resolve_publications()
        self.routes = self._resolve_routes()

    @classmethod
    def from_components(
        cls,
        components: Iterable[Component],
        catalog: Catalog,
        *,
        inputs: Iterable[str] = (),
    ) -> Topology:
        return cls(components, catalog, inputs=inputs)

    # -- resolution ---------------------------------------------------------

    def _resolve(self, name: str, role: str) -> str | None:
        """Return the canonical name, or record a problem that starts with ``role``."""
        try:
            return self.catalog.resolve(name)
        except UnknownTopicError as exc:
            self._problems.append(f"{role}: {exc}")
            return None

    def _resolve_inputs(self, inputs: Iterable[str]) -> frozenset[str]:
        resolved = (self._resolve(name, "input") for name in inputs)
        return frozenset(name for name in resolved if name is not None)

    def _resolve_publications(self) -> dict[str, dict[str, type[Envelope]]]:
        publications: dict[str, dict[str, type[Envelope]]] = {}
        for component in self.components:
            topics: dict[str, type[Envelope]] = {}
            for name in component.publishes:
                canonical = self._resolve(
                    name, f"component {component.name!r} publishes to"
                )
                if canonical is not None:
                    topics[canonical] = self.catalog.get(canonical).model
            publications[component.name] = topics
        return publications

    def _resolve_routes(self) -> tuple[Route, ...]:
        routes: list[Route] = []
        for component in self.components:
            for subscription in component.subscriptions:
                route = self._resolve_route(component, subscription)
                if route is not None:
                    routes.append(route)
        return tuple(routes)

    def _resolve_route(
        self, component: Component, subscription: Subscription
    ) -> Route | None:
        """Resolve one subscription; record each problem and return None if any."""
        label = f"component {component.name!r} subscribes to"
        topic = self._resolve(subscription.topic, label)
        error_topic_name = self._error_topic(component, subscription)
        try:
            model = handler_model(type(component), subscription)
        except ComponentError as exc:
            self._problems.append(str(exc))
            return None
        if topic is None or error_topic_name is None:
            return None

        expected = self.catalog.get(topic).model
        if not issubclass(expected, model):
            self._problems.append(
                f"handler {type(component).__name__}.{subscription.handler} of "
                f"component {component.name!r} expects {model.__name__}, but "
                f"topic {topic!r} carries {expected.__name__}"
            )
        return Route(
            component=component,
            subscription=subscription,
            topic=topic,
            group=subscription.group_for(component.name),
            model=model,
            error_topic=error_topic_name,
        )

    def _error_topic(
        self, component: Component, subscription: Subscription
    ) -> str | None:
        try:
            return error_topic(subscription.stage, self.catalog)
        except ContractError as exc:
            self._problems.append(f"component {component.name!r}: {exc}")
            return None

    # -- queries ------------------------------------------------------------

    def producers(self) -> Mapping[str, frozenset[str]]:
        """Map each produced topic to the names of its producers.

        External inputs count as the producer ``external``; every stage's
        error topic is produced by the components with that stage.
        """
        producers: defaultdict[str, set[str]] = defaultdict(set)
        for component, topics in self.publications.items():
            for topic in topics:
                producers[topic].add(component)
        for topic in self.inputs:
            producers[topic].add(EXTERNAL)
        for route in self.routes:
            producers[route.error_topic].add(route.component.name)
        return {topic: frozenset(names) for topic, names in producers.items()}

    def consumers(self) -> Mapping[str, frozenset[str]]:
        """Map each consumed topic to the names of the components consuming it."""
        consumers: defaultdict[str, set[str]] = defaultdict(set)
        for route in self.routes:
            consumers[route.topic].add(route.component.name)
        return {topic: frozenset(names) for topic, names in consumers.items()}

    def edges(self) -> tuple[Edge, ...]:
        """Return every edge: component -> topic -> component or table."""
        edges: list[Edge] = []
        for topic in sorted(self.inputs):
            edges.append(_edge(NodeKind.EXTERNAL, EXTERNAL, topic, EdgeKind.PUBLISHES))
        for component, topics in self.publications.items():
            for topic in topics:
                edges.append(
                    _edge(NodeKind.COMPONENT, component, topic, EdgeKind.PUBLISHES)
                )
        for route in self.routes:
            edges.append(_consume_edge(route))
            edges.append(_error_edge(route))
        edges.extend(self._store_edges(edges))
        return tuple(dict.fromkeys(edges))

    def _store_edges(self, edges: list[Edge]) -> list[Edge]:
        touched = {
            node.name
            for edge in edges
            for node in (edge.source, edge.target)
            if node.kind is NodeKind.TOPIC
        }
        stored: list[Edge] = []
        for spec in self.catalog:
            if spec.name in touched and spec.table is not None:
                stored.append(
                    Edge(
                        Node(NodeKind.TOPIC, spec.name),
                        Node(NodeKind.TABLE, spec.table.name),
                        EdgeKind.STORES,
                    )
                )
        return stored

    # -- lint ---------------------------------------------------------------

    def lint(self) -> LintReport:
        """Check the topology and log each warning once.

        Errors: unknown topics, handler models that differ from the catalog,
        stages without an error topic, topics consumed but never produced,
        duplicate component names, consumer groups shared by components and
        a topic subscribed twice in one group.
        Warnings: topics produced but neither consumed nor stored (error
        topics are exempt because people inspect them). The report is computed
        once and cached.
        """
        return self._report

    @cached_property
    def _report(self) -> LintReport:
        errors = [
            *dict.fromkeys(self._problems),
            *self._duplicate_names(),
            *self._shared_groups(),
            *self._orphans(),
        ]
        warnings = self._unused()
        for warning in warnings:
            logger.warning("topology: %s", warning)
        return LintReport(errors=tuple(errors), warnings=tuple(warnings))

    def _orphans(self) -> list[str]:
        producers = self.producers()
        problems = []
        for topic, names in sorted(self.consumers().items()):
            if topic not in producers:
                problems.append(
                    f"topic {topic!r} is consumed by {_names(names)} but no "
                    "component publishes it; add a producer, or list it in "
                    "'inputs' when code outside the components publishes it"
                )
        return problems

    def _unused(self) -> list[str]:
        consumers = self.consumers()
        warnings = []
        for topic, names in sorted(self.producers().items()):
            spec = self.catalog.get(topic)
            if topic in consumers or spec.persisted or spec.kind is TopicKind.ERROR:
                continue
            warnings.append(
                f"topic {topic!r} is published by {_names(names)} but no "
                "component consumes it and it has no table, so retention "
                "drops its messages unread"
            )
        return warnings

    def _duplicate_names(self) -> list[str]:
        counts: defaultdict[str, int] = defaultdict(int)
        for component in self.components:
            counts[component.name] += 1
        return [
            f"component name {name!r} is used by {count} components; names must "
            "be unique"
            for name, count in counts.items()
            if count > 1
        ]

    def _shared_groups(self) -> list[str]:
        owners: defaultdict[str, set[str]] = defaultdict(set)
        topics: defaultdict[tuple[str, str], int] = defaultdict(int)
        for route in self.routes:
            owners[route.group].add(route.component.name)
            topics[(route.group, route.topic)] += 1
        problems = [
            f"consumer group {group!r} is used by {_names(names)}; each "
            "component needs its own group, or the components split the "
            "partitions between them"
            for group, names in sorted(owners.items())
            if len(names) > 1
        ]
        problems.extend(
            f"topic {topic!r} is subscribed {count} times in consumer group "
            f"{group!r}; give each handler its own stage or group"
            for (group, topic), count in sorted(topics.items())
            if count > 1
        )
        return problems

    def groups(self) -> dict[str, tuple[Route, ...]]:
        """Group the routes by consumer group, because each group gets one consumer."""
        grouped: defaultdict[str, list[Route]] = defaultdict(list)
        for route in self.routes:
            grouped[route.group].append(route)
        return {group: tuple(routes) for group, routes in grouped.items()}


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names))


def _edge(kind: NodeKind, name: str, topic: str, edge_kind: EdgeKind) -> Edge:
    return Edge(Node(kind, name), Node(NodeKind.TOPIC, topic), edge_kind)


def _consume_edge(route: Route) -> Edge:
    return Edge(
        Node(NodeKind.TOPIC, route.topic),
        Node(NodeKind.COMPONENT, route.component.name),
        EdgeKind.CONSUMES,
        stage=route.subscription.stage,
        group=route.group,
    )


def _error_edge(route: Route) -> Edge:
    return Edge(
        Node(NodeKind.COMPONENT, route.component.name),
        Node(NodeKind.TOPIC, route.error_topic),
        EdgeKind.ERRORS,
        stage=route.subscription.stage,
        group=route.group,
    )
