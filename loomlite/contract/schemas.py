"""Export the catalog's models as JSON Schema (draft 2020-12) files.

The layout follows production's shared schema folder: a topic's name split on
dots gives the directories, and each schema version is a file, e.g.
``device/sensor/gps/raw/v1.json``. ``index.json`` at the top lists every
topic with its aliases and files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loomlite.contract.catalog import Catalog, TopicSpec
from loomlite.contract.envelope import Envelope
from loomlite.contract.topics import CATALOG

__all__ = ["DRAFT_2020_12", "export_schemas", "schema_for", "schema_path"]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
INDEX_FILE = "index.json"


def schema_path(topic: str, version: int) -> Path:
    """Return the relative path of a topic version's schema file."""
    return Path(*topic.split("."), f"v{version}.json")


def schema_for(spec: TopicSpec, version: int) -> dict[str, Any]:
    """Return the JSON Schema of ``spec``'s model for ``version``.

    The schema describes messages as ``encode`` writes them (serialization
    mode), so bytes fields are base64 strings and datetimes ISO 8601 strings.
    """
    model: type[Envelope] = spec.models[version]
    generated = model.model_json_schema(mode="serialization")
    generated.pop("title", None)
    generated.pop("description", None)
    return {
        "$schema": DRAFT_2020_12,
        "$id": f"urn:loomlite:topic:{spec.name}:v{version}",
        "title": f"{spec.name} v{version} ({model.__name__})",
        "description": spec.description,
        **generated,
    }


def export_schemas(directory: Path, catalog: Catalog = CATALOG) -> list[Path]:
    """Write one schema file per topic and version, then ``index.json``.

    Creates ``directory`` and subdirectories as needed and overwrites files
    of the same name. Returns the paths written, schema files first and the
    index last.
    """
    directory = Path(directory)
    written: list[Path] = []
    index: list[dict[str, Any]] = []
    for spec in catalog:
        files: dict[str, str] = {}
        for version in sorted(spec.models):
            relative = schema_path(spec.name, version)
            _write_json(directory / relative, schema_for(spec, version))
            written.append(directory / relative)
            files[str(version)] = relative.as_posix()
        index.append(
            {
                "name": spec.name,
                "kind": spec.kind.value,
                "aliases": list(spec.aliases),
                "version": spec.version,
                "files": files,
            }
        )
    _write_json(directory / INDEX_FILE, {"topics": index})
    written.append(directory / INDEX_FILE)
    return written


def _write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
