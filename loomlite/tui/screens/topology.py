"""Topology: components, the topics they read and write, and the tables.

Edges carry the topic's current publish rate and, on consumer edges, the
group's lag. Lint warnings are marked with ⚠, and orphans (topics consumed
but never produced, or produced but neither consumed nor stored) have their
own branch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from loomlite.contract import CATALOG
from loomlite.contract.catalog import TopicKind
from loomlite.runtime.topology import EdgeKind, NodeKind
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.snapshot import Snapshot
from loomlite.tui.source import TopologyView
from loomlite.tui.widgets import format_rate

__all__ = ["TopologyScreen"]

Label = Callable[[Snapshot | None], Text]


class TopologyScreen(LoomliteScreen):
    BINDINGS = [
        Binding("e", "expand_all", "Expand all"),
        Binding("c", "collapse_all", "Collapse all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._labels: list[tuple[TreeNode[str], Label]] = []
        self._built = False

    def compose_body(self) -> ComposeResult:
        yield Static("Waiting for the pipeline to start.", id="topology-status")
        yield Tree("pipeline", id="topology")

    def on_mount(self) -> None:
        self._build()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        if not self._built:
            self._build()
        for node, label in self._labels:
            node.set_label(label(snapshot))

    def action_expand_all(self) -> None:
        self.query_one(Tree).root.expand_all()

    def action_collapse_all(self) -> None:
        tree = self.query_one(Tree)
        for child in tree.root.children:
            child.collapse_all()

    # -- building -----------------------------------------------------------

    def _build(self) -> None:
        source = self.source
        view = None if source is None else source.topology()
        if view is None:
            return
        self._built = True
        status = self.query_one("#topology-status", Static)
        tables = {e.target.name for e in view.edges if e.target.kind is NodeKind.TABLE}
        status.update(
            f"{len(view.components)} components · {len(tables)} tables · "
            f"{len(view.warnings)} lint warning(s)"
        )
        tree: Tree[str] = self.query_one(Tree)
        tree.clear()
        tree.root.expand()
        self._labels = []
        graph = _Graph(view)
        if view.warnings:
            warnings = tree.root.add(f"⚠ lint warnings ({len(view.warnings)})")
            for warning in view.warnings:
                warnings.add_leaf(Text("⚠ " + warning, style="yellow"))
        for component in view.components:
            self._add_component(tree.root, graph, component)
        self._add_orphans(tree.root, graph)
        branch = tree.root.add(f"tables ({len(graph.tables)})")
        for topic, table in sorted(graph.tables.items(), key=lambda item: item[1]):
            self._track(branch.add_leaf(table), _table_label(table, topic))

    def _track(self, node: TreeNode[str], label: Label) -> None:
        node.set_label(label(self.loom.latest))
        self._labels.append((node, label))

    def _add_component(self, root: TreeNode[str], graph: _Graph, name: str) -> None:
        node = root.add(name, expand=True)
        self._track(node, _component_label(name))
        for topic, stage, group in sorted(graph.consumes[name]):
            self._track(
                node.add_leaf(topic), _consume_label(topic, stage, group, graph)
            )
        for topic in sorted(graph.publishes[name]):
            self._track(node.add_leaf(topic), _publish_label(topic, graph))
        for topic in sorted(graph.errors[name]):
            self._track(node.add_leaf(topic), _error_label(topic))

    def _add_orphans(self, root: TreeNode[str], graph: _Graph) -> None:
        unread = graph.unread()
        unproduced = graph.unproduced()
        node = root.add(f"orphans ({len(unread) + len(unproduced)})")
        for topic in unproduced:
            node.add_leaf(Text(f"⚠ {topic}: consumed but never produced", "red"))
        for topic in unread:
            node.add_leaf(
                Text(f"⚠ {topic}: produced but neither consumed nor stored", "yellow")
            )


class _Graph:
    """The edges of a TopologyView indexed by component and topic."""

    def __init__(self, view: TopologyView) -> None:
        self.view = view
        self.consumes: defaultdict[str, set[tuple[str, str, str]]] = defaultdict(set)
        self.publishes: defaultdict[str, set[str]] = defaultdict(set)
        self.errors: defaultdict[str, set[str]] = defaultdict(set)
        self.tables: dict[str, str] = {}
        for edge in view.edges:
            if edge.kind is EdgeKind.CONSUMES:
                self.consumes[edge.target.name].add(
                    (edge.source.name, edge.stage or "", edge.group or "")
                )
            elif edge.kind is EdgeKind.PUBLISHES:
                self.publishes[edge.source.name].add(edge.target.name)
            elif edge.kind is EdgeKind.ERRORS:
                self.errors[edge.source.name].add(edge.target.name)
            elif edge.kind is EdgeKind.STORES:
                self.tables[edge.source.name] = edge.target.name
        self.warned = {
            topic
            for warning in view.warnings
            for topic in self.all_topics()
            if f"'{topic}'" in warning
        }

    def all_topics(self) -> set[str]:
        return {
            node.name
            for edge in self.view.edges
            for node in (edge.source, edge.target)
            if node.kind is NodeKind.TOPIC
        }

    def consumed(self) -> set[str]:
        return {topic for items in self.consumes.values() for topic, _, _ in items}

    def produced(self) -> set[str]:
        produced = {t for topics in self.publishes.values() for t in topics}
        return produced | {t for topics in self.errors.values() for t in topics}

    def unproduced(self) -> list[str]:
        return sorted(self.consumed() - self.produced())

    def unread(self) -> list[str]:
        error_topics = {spec.name for spec in CATALOG.by_kind(TopicKind.ERROR)}
        candidates = self.produced() - self.consumed() - set(self.tables)
        return sorted(candidates - error_topics)


def _rate(snapshot: Snapshot | None, topic: str) -> str:
    if snapshot is None or topic not in snapshot.topics:
        return "idle"
    return format_rate(snapshot.topics[topic].publish_rate)


def _component_label(name: str) -> Label:
    def label(snapshot: Snapshot | None) -> Text:
        row = None if snapshot is None else snapshot.components.get(name)
        if row is None:
            return Text(name, style="bold")
        style = "green" if row.state == "running" else "red"
        text = Text.assemble((name, "bold"), " ", (f"[{row.state}]", style))
        if row.errors:
            text.append(f" {row.errors:,} errors", style="red")
        return text

    return label


def _consume_label(topic: str, stage: str, group: str, graph: _Graph) -> Label:
    def label(snapshot: Snapshot | None) -> Text:
        lag = 0
        if snapshot is not None:
            lag = sum(
                row.lag
                for row in snapshot.lags
                if row.group == group and row.topic == topic
            )
        mark = "⚠ " if topic in graph.warned else ""
        return Text.assemble(
            ("← consumes ", "cyan"),
            f"{mark}{topic} ",
            (f"{_rate(snapshot, topic)} · stage {stage} · lag {lag:,}", "dim"),
        )

    return label


def _publish_label(topic: str, graph: _Graph) -> Label:
    def label(snapshot: Snapshot | None) -> Text:
        mark = "⚠ " if topic in graph.warned else ""
        table = graph.tables.get(topic)
        stored = f" ⇒ {table}" if table else ""
        return Text.assemble(
            ("→ publishes ", "green"),
            f"{mark}{topic} ",
            (_rate(snapshot, topic), "dim"),
            (stored, "magenta"),
        )

    return label


def _error_label(topic: str) -> Label:
    def label(snapshot: Snapshot | None) -> Text:
        count = 0
        if snapshot is not None and topic in snapshot.topics:
            count = snapshot.topics[topic].published_total
        style = "red" if count else "dim"
        return Text.assemble(("✗ errors ", "red"), topic, (f" {count:,}", style))

    return label


def _table_label(table: str, topic: str) -> Label:
    def label(snapshot: Snapshot | None) -> Text:
        rows = None
        if snapshot is not None and snapshot.tables is not None:
            entry = snapshot.tables.get(table)
            rows = None if entry is None else entry.rows_written
        written = "" if rows is None else f" {rows:,} rows written"
        return Text.assemble(table, (f" ← {topic}{written}", "dim"))

    return label
