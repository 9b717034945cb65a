"""Derived text data: embeddings, reasoning results, fetched web pages and
parsed documents."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import (
    Confidence,
    SourceMessageId,
    SourceTopic,
)
from loomlite.contract.types import Binary, JsonObject, UtcDatetime

__all__ = ["ParsedDocument", "ReasoningResult", "TextEmbedding", "UrlContent"]


class TextEmbedding(Envelope):
    """A vector that places a text in an embedding space."""

    source_topic: SourceTopic
    source_message_id: SourceMessageId
    model: str = Field(min_length=1, description="Embedding model name.")
    dimensions: int = Field(gt=0)
    embedding: list[float]
    text_length: int | None = Field(None, ge=0, description="Characters embedded.")

    @model_validator(mode="after")
    def _check_dimensions(self) -> Self:
        if len(self.embedding) != self.dimensions:
            raise ValueError(
                f"embedding has {len(self.embedding)} values but dimensions "
                f"is {self.dimensions}"
            )
        return self


class ReasoningResult(Envelope):
    """A language model's conclusion about the user's context from recent data."""

    context_type: str = Field(description="e.g. activity, location, focus.")
    conclusion: str
    confidence: Confidence
    steps: list[str] = Field([], description="The reasoning steps, in order.")
    source_message_ids: list[str] = []
    backend: str = Field(min_length=1)


class UrlContent(Envelope):
    """The content fetched from one URL, e.g. a liked tweet or a Hacker News story."""

    source_topic: SourceTopic = Field(description="Topic of the URL task.")
    source_message_id: SourceMessageId
    url: str = Field(min_length=1)
    item_id: str | None = Field(None, description="Tweet or story id, if any.")
    title: str | None = None
    author: str | None = None
    published_at: UtcDatetime | None = None
    content_type: str | None = Field(None, description="MIME type of the page.")
    text_content: str | None = Field(None, description="Extracted plain text.")
    links: list[str] = []
    media_urls: list[str] = []
    page_count: int | None = Field(None, ge=0, description="For PDF documents.")
    screenshot: Binary | None = Field(None, description="PNG of the rendered page.")
    backend: str = Field(min_length=1, description="Fetcher that produced it.")


class ParsedDocument(Envelope):
    """Text extracted from an uploaded document or a GitHub repository."""

    source_topic: SourceTopic = Field(description="Topic of the parse task.")
    source_message_id: SourceMessageId
    origin: str = Field(min_length=1, description="File name or repository URL.")
    document_type: str | None = None
    content_type: str | None = None
    extracted_text: str
    file_count: int = Field(1, ge=0, description="Files the text was taken from.")
    size_bytes: int | None = Field(None, ge=0, description="Size of the input.")
    page_count: int | None = Field(None, ge=0)
    word_count: int | None = Field(None, ge=0)
    language: str | None = None
    extraction: JsonObject | None = Field(None, description="Extractor details.")
    backend: str = Field(min_length=1)
