"""The persist component: every persisted topic written to its table.

Each persisted topic has its own consumer group (``persist.<topic>``), so the
topics are consumed concurrently and their rows meet in the sink's shared
batches. A fetch is written in one ``Sink.write`` call and the dispatcher
commits its offsets only after that call returns, which is after the rows'
transaction committed: at-least-once delivery, made harmless by the tables'
natural keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from loomlite.contract import CATALOG, error_topic
from loomlite.contract.catalog import Catalog
from loomlite.contract.envelope import Envelope
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe
from loomlite.sink import Sink, SinkState, SinkStatistics

__all__ = ["PERSIST_STAGE", "PersistComponent", "persist_component"]

PERSIST_STAGE = "persist"


class PersistComponent(Component):
    """Base class of the generated persist component; see ``persist_component``."""

    name = "persist"

    def __init__(
        self,
        url: str | Path,
        catalog: Catalog,
        *,
        batch_size: int = 500,
        max_delay: float = 0.05,
    ) -> None:
        self.url = url
        self.catalog = catalog
        self.batch_size = batch_size
        self.max_delay = max_delay
        self._sink: Sink | None = None

    @property
    def sink(self) -> Sink:
        if self._sink is None:
            raise RuntimeError("the persist component has not been set up")
        return self._sink

    async def setup(self) -> None:
        sink = Sink(
            self.url,
            self.catalog,
            batch_size=self.batch_size,
            max_delay=self.max_delay,
            clock=self.context.clock,
        )
        await sink.__aenter__()
        self._sink = sink

    async def teardown(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.__aexit__(None, None, None)

    def running_sink(self) -> Sink | None:
        """Return the sink while it is open for reads and writes, else None."""
        sink = self._sink
        if sink is None or sink.state is not SinkState.RUNNING:
            return None
        return sink

    def sink_statistics(self) -> SinkStatistics | None:
        """Return the sink's counters, or None while it is not open."""
        return None if self._sink is None else self._sink.statistics()


def persist_component(
    url: str | Path,
    catalog: Catalog = CATALOG,
    *,
    topics: Iterable[str] | None = None,
    batch_size: int = 500,
    max_delay: float = 0.05,
) -> PersistComponent:
    """Return a persist component subscribed to the persisted topics of ``catalog``.

    ``topics`` limits it to those topics (names or aliases; topics without a
    table are ignored), typically the ones the other components publish.
    Subscriptions are declared on the class, so the class is built here with
    one ``@subscribe`` per persisted topic.
    """
    selected = None if topics is None else {catalog.resolve(name) for name in topics}

    async def store(
        self: PersistComponent, messages: Sequence[Envelope], context: Context
    ) -> None:
        await self.sink.write(context.topic, messages)

    handler: Any = store
    for spec in catalog.persisted():
        if selected is not None and spec.name not in selected:
            continue
        handler = subscribe(
            spec.name,
            stage=PERSIST_STAGE,
            group=f"{PERSIST_STAGE}.{spec.name}",
            batch=True,
        )(handler)
    component_class = type(
        "CatalogPersistComponent", (PersistComponent,), {"store": handler}
    )
    component: PersistComponent = component_class(
        url, catalog, batch_size=batch_size, max_delay=max_delay
    )
    return component


def produced_topics(
    components: Iterable[Component], catalog: Catalog = CATALOG
) -> set[str]:
    """Canonical names of the topics ``components`` publish, error topics of
    their stages included."""
    names: set[str] = set()
    for component in components:
        names.update(catalog.resolve(topic) for topic in component.publishes)
        for subscription in component.subscriptions:
            names.add(error_topic(subscription.stage, catalog))
    return names
