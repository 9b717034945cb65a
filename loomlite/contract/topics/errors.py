"""One error topic per processing stage, ``processing.errors.<stage>``.

The first eighteen stages are production's; the rest are the stages loomlite
adds. Production's dead-letter topics are aliases of the error topic of the
stage that handled the same data:

- ``dlq.audio.processing`` → vad (production's only writer of it was its VAD)
- ``dlq.image.processing`` → image_preprocessing (the first image stage)
- ``dlq.text.processing`` → embedding (the stage that reads text topics)
- ``dlq.document.processing`` → document_parse
- ``dlq.general`` → general
- ``task.document.ingest.errors`` and ``task.github.ingest.errors``, the
  ``<topic>.errors`` names of production's document parser → document_parse
"""

from __future__ import annotations

from loomlite.contract.catalog import TableSpec, TopicKind, TopicSpec
from loomlite.contract.models import ProcessingError
from loomlite.contract.topics._build import days

__all__ = ["ERROR_PREFIX", "ERROR_STAGES", "ERROR_TOPICS"]

ERROR_PREFIX = "processing.errors."

ERROR_NATURAL_KEY = (
    "stage",
    "source_topic",
    "source_partition",
    "source_offset",
    "recorded_at",
)
"""A failed record is stored once per stage, whatever its envelope contains."""

ERROR_STAGES: dict[str, str] = {
    # production's stages
    "accelerometer": "windowing accelerometer readings",
    "activity_classification": "classifying activity per time window",
    "app_lifecycle": "enriching app lifecycle events",
    "audio_classifier": "classifying the acoustic environment",
    "business_match": "matching places to businesses",
    "calendar_fetch": "fetching calendar events",
    "email_fetch": "fetching emails",
    "embedding": "embedding text into analysis.text.embedded.*",
    "face_detection": "finding faces and their emotions",
    "geocoding": "reverse geocoding GPS fixes",
    "georegion": "detecting georegion entries and exits",
    "hn_scrape": "fetching Hacker News stories",
    "image_preprocessing": "preprocessing images",
    "object_detection": "detecting objects in images",
    "ocr": "reading text from images",
    "stt": "transcribing speech segments",
    "vad": "cutting speech segments from audio chunks",
    "vision_preprocessing": "preprocessing camera images for vision models",
    # loomlite's stages
    "ingest": "taking in requests and messages at the gateway",
    "persist": "writing messages to the database",
    "caption": "captioning images and listing their objects",
    "emotion": "recognising emotion in speech segments",
    "steps": "counting steps from accelerometer readings",
    "motion": "detecting significant motion",
    "url_processing": "fetching the content of URL tasks",
    "twitter_fetch": "fetching liked posts on X",
    "web_fetch": "reading browser history",
    "scheduler": "running scheduled jobs",
    "document_parse": "extracting text from documents and repositories",
    "general": "work that belongs to no other stage",
}
"""Every stage that has an error topic, with the work it does."""

_ALIASES: dict[str, tuple[str, ...]] = {
    "activity_classification": ("processing.errors.activity",),
    "vad": ("dlq.audio.processing",),
    "image_preprocessing": ("dlq.image.processing",),
    "embedding": ("dlq.text.processing",),
    "document_parse": (
        "dlq.document.processing",
        "task.document.ingest.errors",
        "task.github.ingest.errors",
    ),
    "general": ("dlq.general",),
}


def _error_topic(stage: str, work: str) -> TopicSpec:
    aliases = _ALIASES.get(stage, ())
    alias_text = ""
    if aliases:
        alias_text = " Aliases: " + ", ".join(aliases) + "."
    return TopicSpec(
        name=f"{ERROR_PREFIX}{stage}",
        kind=TopicKind.ERROR,
        description=f"Messages the {stage} stage failed on while {work}.{alias_text}",
        models={1: ProcessingError},
        aliases=aliases,
        retention=days(7),
        table=TableSpec(f"processing_errors_{stage}", ERROR_NATURAL_KEY),
    )


ERROR_TOPICS: list[TopicSpec] = [
    _error_topic(stage, work) for stage, work in ERROR_STAGES.items()
]
