"""Run the whole pipeline inside a test, deterministically.

``pipeline`` builds a runtime on a manual clock with a recording broker and,
by default, a SQLite database in a temporary directory::

    async with loomlite.testing.pipeline(profile="ci") as p:
        await p.publish("device.sensor.gps.raw", {...})
        await p.run_until_idle()
        rows = await p.rows("location_address_geocoded")

The pytest plugin (``loomlite.testing.plugin``) adds the ``loomlite_pipeline``
fixture and the ``--loomlite-profile`` and ``--loomlite-broker`` options.
Names are imported on first use, so that pytest loading the plugin does not
import every component.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loomlite._fixtures import fixture_path
    from loomlite.testing._components import COMPONENT_NAMES, DEFAULT_COMPONENTS
    from loomlite.testing._database import database_digest, read_rows
    from loomlite.testing._logs import LogCapture
    from loomlite.testing._pipeline import BROKER_KINDS, Pipeline, pipeline
    from loomlite.testing._recording import (
        RecordingDurableBroker,
        RecordingMemoryBroker,
        published_records,
    )

__all__ = [
    "BROKER_KINDS",
    "COMPONENT_NAMES",
    "DEFAULT_COMPONENTS",
    "LogCapture",
    "Pipeline",
    "RecordingDurableBroker",
    "RecordingMemoryBroker",
    "database_digest",
    "fixture_path",
    "pipeline",
    "published_records",
    "read_rows",
]

_MODULES = {
    "BROKER_KINDS": "loomlite.testing._pipeline",
    "COMPONENT_NAMES": "loomlite.testing._components",
    "DEFAULT_COMPONENTS": "loomlite.testing._components",
    "LogCapture": "loomlite.testing._logs",
    "Pipeline": "loomlite.testing._pipeline",
    "RecordingDurableBroker": "loomlite.testing._recording",
    "RecordingMemoryBroker": "loomlite.testing._recording",
    "database_digest": "loomlite.testing._database",
    "fixture_path": "loomlite._fixtures",
    "pipeline": "loomlite.testing._pipeline",
    "published_records": "loomlite.testing._recording",
    "read_rows": "loomlite.testing._database",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'loomlite.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
