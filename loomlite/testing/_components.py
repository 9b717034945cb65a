"""Build the standard components of a test pipeline from their names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from loomlite.clock import Clock
from loomlite.components.ai.component import AiComponent
from loomlite.components.enrich.component import EnrichComponent
from loomlite.components.external.component import ExternalComponent
from loomlite.components.ingest import DEVICE_TOPICS, GATEWAY_TOPICS, IngestComponent
from loomlite.components.monitor import MonitorComponent
from loomlite.components.persist import (
    PersistComponent,
    persist_component,
    produced_topics,
)
from loomlite.contract.catalog import Catalog
from loomlite.errors import ConfigurationError
from loomlite.runtime.component import Component
from loomlite.runtime.settings import LoomliteSettings
from loomlite.session import build_devices

__all__ = ["COMPONENT_NAMES", "DEFAULT_COMPONENTS", "build_components"]

COMPONENT_NAMES = ("ingest", "ai", "enrich", "external", "persist", "monitor")
"""Names that ``pipeline(components=...)`` accepts in place of instances."""

DEFAULT_COMPONENTS = ("ingest", "ai", "enrich", "persist")
"""Components of a test pipeline that names none. The external fetchers and
the monitor publish on their own schedule, so tests add them by name."""


def build_components(
    requested: Iterable[Component | str] | None,
    settings: LoomliteSettings,
    catalog: Catalog,
    *,
    clock: Clock,
    db_url: str | None,
    simulate: bool,
    inputs: Iterable[str],
) -> list[Component]:
    """Return the requested components, building those given by name.

    The persist component is built last, subscribed to every persisted topic
    that the other components publish or consume, to every topic that the
    ingest intake publishes, and to ``inputs``. It is left out when
    ``db_url`` is None.
    """
    names_or_components = list(DEFAULT_COMPONENTS if requested is None else requested)
    built: list[Component] = []
    wants_persist = False
    wants_monitor = False
    for item in names_or_components:
        if isinstance(item, Component):
            built.append(item)
        elif item == "persist":
            wants_persist = True
        elif item == "monitor":
            wants_monitor = True
        else:
            built.append(_build(item, settings, clock.now(), simulate=simulate))

    persist = None
    if wants_persist and db_url is not None:
        persist = _persist(db_url, built, catalog, inputs, settings)
        built.append(persist)
    if wants_monitor:
        statistics = None if persist is None else persist.sink_statistics
        built.append(MonitorComponent(sink_statistics=statistics))
    return built


def _build(
    name: str, settings: LoomliteSettings, start: datetime, *, simulate: bool
) -> Component:
    if name == "ingest":
        devices = build_devices(settings, start)[1] if simulate else []
        until = start + settings.duration if settings.duration else None
        return IngestComponent(devices, until=until if simulate else None)
    if name == "ai":
        return AiComponent()
    if name == "enrich":
        return EnrichComponent()
    if name == "external":
        return ExternalComponent()
    raise ConfigurationError(
        f"unknown component {name!r}: expected a Component instance or one of "
        f"{', '.join(COMPONENT_NAMES)}",
        key="components",
    )


def _persist(
    db_url: str,
    others: list[Component],
    catalog: Catalog,
    inputs: Iterable[str],
    settings: LoomliteSettings,
) -> PersistComponent:
    topics = produced_topics(others, catalog)
    # Pipeline.publish does the ingest intake's work, so what a test
    # publishes is stored even when the pipeline has no ingest component.
    topics.update(catalog.resolve(name) for name in (*DEVICE_TOPICS, *GATEWAY_TOPICS))
    for component in others:
        topics.update(catalog.resolve(s.topic) for s in component.subscriptions)
    topics.update(catalog.resolve(name) for name in inputs)
    # A batching delay would only stall a test: the writer batches whatever
    # arrives while it commits anyway.
    return persist_component(
        db_url,
        catalog,
        topics=topics,
        batch_size=settings.components.persist.batch_size,
        max_delay=0.0,
    )
