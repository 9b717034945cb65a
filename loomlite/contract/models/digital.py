"""Raw digital activity and job requests: notes, clipboard, web pages,
documents, GitHub repositories and URLs.

Field names are those of the production ingestion API's request bodies.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, field_validator, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata
from loomlite.contract.types import Binary, JsonObject

__all__ = [
    "ClipboardData",
    "DocumentTask",
    "GitHubTask",
    "NoteData",
    "UrlTask",
    "WebAnalyticsData",
]

MAX_DOCUMENT_BYTES = 104_857_600
"""Largest document production's API accepted (100 MiB)."""

PRIORITY_LABELS = {"high": 1, "medium": 5, "normal": 5, "low": 10}
"""Text priorities that production producers sent, as numbers (1 is most urgent).

NOTE: production never documented whether 1 or 10 is more urgent, and loomlite reads 1
as most urgent.
"""


def _priority_number(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in PRIORITY_LABELS:
        return PRIORITY_LABELS[value.strip().lower()]
    return value


Priority = Annotated[
    int,
    BeforeValidator(_priority_number),
    Field(
        ge=1,
        le=10,
        description="1 (most urgent) to 10, or high, medium, normal or low.",
    ),
]


class ClipboardData(Envelope):
    content_type: Literal["text", "image", "file", "url", "mixed"]
    content_text: str | None = None
    content_data: Binary | None = Field(None, description="Non-text content.")
    source_app: str | None = None
    metadata: Metadata = None


class WebAnalyticsData(Envelope):
    """Time spent on one web page, as a browser extension measured it."""

    url: str = Field(min_length=1)
    domain: str
    page_title: str | None = None
    time_spent_seconds: int | None = Field(None, ge=0)
    scroll_depth_percentage: int | None = Field(None, ge=0, le=100)
    clicks_count: int | None = Field(None, ge=0)
    referrer: str | None = None
    metadata: Metadata = None


class NoteData(Envelope):
    """A text note; ``word_count`` is always recounted from ``content``."""

    content: str = Field(description="Stored without surrounding whitespace.")
    title: str | None = None
    note_type: str = Field("text", description="text, markdown or code.")
    tags: list[str] = []
    word_count: int | None = Field(None, description="Whitespace-separated words.")
    language: str | None = None
    metadata: Metadata = None

    @field_validator("content")
    @classmethod
    def _strip_content(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("content must not be blank")
        return stripped

    @model_validator(mode="after")
    def _count_words(self) -> Self:
        self.word_count = len(self.content.split())
        return self


class DocumentTask(Envelope):
    """A request to extract text from an uploaded document."""

    filename: str = Field(min_length=1)
    file_data: Binary = Field(description="The document bytes.")
    file_size: int = Field(ge=1, le=MAX_DOCUMENT_BYTES, description="Bytes.")
    content_type: str = "application/octet-stream"
    document_type: str = "general"
    priority: Priority = 5
    extract_options: JsonObject | None = None
    callback_webhook: str | None = None
    metadata: Metadata = None


class GitHubTask(Envelope):
    """A request to fetch and flatten a GitHub repository or file."""

    url: str = Field(pattern=r"^https?://github\.com/")
    repository_type: str = "repository"
    priority: Priority = 5
    include_files: list[str] = []
    exclude_files: list[str] = []
    max_file_size: int = Field(1_048_576, gt=0, description="Bytes per file.")
    extract_options: JsonObject | None = None
    callback_webhook: str | None = None
    metadata: Metadata = None


class UrlTask(Envelope):
    """A request to fetch a web page, e.g. a liked tweet or a Hacker News story."""

    url: str = Field(min_length=1)
    source: str | None = Field(None, description="e.g. twitter_likes, hackernews.")
    task_type: str = Field("general", description="e.g. liked_tweet.")
    priority: Priority = 5
    item_id: str | None = Field(None, description="Tweet or story id, if any.")
    content_hash: str | None = Field(None, description="Producer's dedupe hash.")
    extract_options: JsonObject | None = None
    callback_webhook: str | None = None
    requested_by: str | None = None
    metadata: Metadata = None
