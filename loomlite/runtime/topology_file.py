"""The topology as a JSON document, so that another process can draw it.

``loomlite up`` writes ``<state_dir>/topology.json`` once the runtime has
started, because the graph does not change while it runs. The document
lists every edge and the lint warnings::

    {
      "version": 1,
      "components": ["ai", "enrich", ...],
      "edges": [{"source": ["component", "ingest"],
                 "target": ["topic", "device.sensor.gps.raw"],
                 "kind": "publishes", "stage": null, "group": null}, ...],
      "warnings": ["topic 'x' is published by 'y' but no component ..."]
    }
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from loomlite.runtime.topology import Edge, EdgeKind, Node, NodeKind, Topology

__all__ = [
    "TOPOLOGY_FILE_NAME",
    "read_topology_file",
    "topology_document",
    "write_topology_file",
]

TOPOLOGY_FILE_NAME = "topology.json"
_VERSION = 1


def topology_document(topology: Topology) -> dict[str, Any]:
    """Return the JSON object that describes ``topology``."""
    return {
        "version": _VERSION,
        "components": sorted(component.name for component in topology.components),
        "edges": [_edge_json(edge) for edge in topology.edges()],
        "warnings": list(topology.lint().warnings),
    }


def write_topology_file(state_dir: Path, topology: Topology) -> Path:
    """Write ``topology.json`` in ``state_dir`` atomically and return its path."""
    path = state_dir / TOPOLOGY_FILE_NAME
    text = json.dumps(topology_document(topology), separators=(",", ":"))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def read_topology_file(
    path: Path,
) -> tuple[tuple[str, ...], tuple[Edge, ...], tuple[str, ...]]:
    """Read a topology document: component names, edges and lint warnings.

    Raises ValueError naming the file when it is not a version 1 document.
    """
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("version") != _VERSION:
        raise ValueError(
            f"{path} is not a version {_VERSION} topology document; "
            "it was written by another loomlite version"
        )
    edges = tuple(_edge_from_json(item) for item in document["edges"])
    return (
        tuple(document["components"]),
        edges,
        tuple(document.get("warnings", ())),
    )


def _edge_json(edge: Edge) -> dict[str, Any]:
    return {
        "source": [edge.source.kind.value, edge.source.name],
        "target": [edge.target.kind.value, edge.target.name],
        "kind": edge.kind.value,
        "stage": edge.stage,
        "group": edge.group,
    }


def _edge_from_json(item: dict[str, Any]) -> Edge:
    source_kind, source_name = item["source"]
    target_kind, target_name = item["target"]
    return Edge(
        Node(NodeKind(source_kind), source_name),
        Node(NodeKind(target_kind), target_name),
        EdgeKind(item["kind"]),
        stage=item.get("stage"),
        group=item.get("group"),
    )
