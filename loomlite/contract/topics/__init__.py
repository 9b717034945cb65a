"""The catalog of every topic loomlite declares, and each stage's error topic.

``CATALOG`` holds one canonical name per topic. Every other name production
wrote, read, pre-created or registered for the same data is an alias, so any
production topic name resolves (``CATALOG.resolve(name)``). The canonical
choices and the field aliases are written in each topic's description; run
``loomlite topics`` to read them.
"""

from __future__ import annotations

from loomlite.contract.catalog import Catalog, TopicKind
from loomlite.contract.topics.derived import DERIVED_TOPICS
from loomlite.contract.topics.device import DEVICE_TOPICS
from loomlite.contract.topics.digital import DIGITAL_TOPICS
from loomlite.contract.topics.enrich import ENRICH_TOPICS
from loomlite.contract.topics.errors import ERROR_PREFIX, ERROR_STAGES, ERROR_TOPICS
from loomlite.contract.topics.external import EXTERNAL_TOPICS
from loomlite.errors import ContractError, UnknownTopicError

__all__ = ["CATALOG", "ERROR_STAGES", "error_topic"]

CATALOG = Catalog(
    [
        *DEVICE_TOPICS,
        *DIGITAL_TOPICS,
        *EXTERNAL_TOPICS,
        *DERIVED_TOPICS,
        *ENRICH_TOPICS,
        *ERROR_TOPICS,
    ]
)


def error_topic(stage: str, catalog: Catalog = CATALOG) -> str:
    """Return the canonical error topic of ``stage``, e.g. 'processing.errors.vad'.

    Raises ContractError when ``catalog`` has no error topic for the stage.
    """
    try:
        spec = catalog.get(f"{ERROR_PREFIX}{stage}")
    except UnknownTopicError:
        spec = None
    if spec is None or spec.kind is not TopicKind.ERROR:
        known = sorted(
            spec.name.removeprefix(ERROR_PREFIX)
            for spec in catalog.by_kind(TopicKind.ERROR)
        )
        raise ContractError(
            f"unknown processing stage {stage!r}: no error topic "
            f"'{ERROR_PREFIX}{stage}' in the catalog; known stages: "
            f"{', '.join(known)}. Declare the stage's error topic in "
            "loomlite/contract/topics/errors.py"
        )
    return spec.name
