"""Run the whole pipeline inside a test, deterministically.

``pipeline`` builds a runtime on a manual clock with a recording broker and,
by default, a SQLite database in a temporary directory::

    async with loomlite.testing.pipeline(profile="ci") as p:
        await p.publish("device.sensor.gps.raw", {...})
        await p.run_until_idle()
        rows = await p.rows("location_address_geocoded")

The pytest plugin (``loomlite.testing.plugin``) adds the ``loomlite_pipeline``
fixture and the ``--loomlite-profile`` and ``--loomlite-broker`` options.
"""

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
