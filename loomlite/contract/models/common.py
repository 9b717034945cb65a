"""Field types and item models shared by several topic models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from loomlite.contract.types import ContractModel, JsonObject

__all__ = [
    "BoundingBox",
    "Confidence",
    "Metadata",
    "SourceMessageId",
    "SourceTopic",
]

Metadata = Annotated[
    JsonObject | None,
    Field(
        description=(
            "Free-form extra data the client sent under 'metadata', kept as is."
        )
    ),
]

Confidence = Annotated[float, Field(ge=0.0, le=1.0, description="From 0 to 1.")]

SourceMessageId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="message_id of the message this one was derived from.",
    ),
]

SourceTopic = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="Canonical topic of the message this one was derived from.",
    ),
]


class BoundingBox(ContractModel):
    """A rectangle in image pixels, from the top-left corner."""

    x: float = Field(ge=0.0)
    y: float = Field(ge=0.0)
    width: float = Field(ge=0.0)
    height: float = Field(ge=0.0)
