"""Raw media from devices: audio chunks, images and screen video.

Field names are those of the production ingestion API's request bodies.
"""

from __future__ import annotations

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata
from loomlite.contract.types import Binary, JsonObject

__all__ = ["AudioChunk", "ImageData", "VideoData"]


class AudioChunk(Envelope):
    """A chunk of microphone audio; ``recorded_at`` is the chunk's start."""

    data: Binary = Field(description="The audio bytes, in the encoding 'format' names.")
    sample_rate: int = Field(gt=0, description="Samples per second, in Hz.")
    duration_ms: int = Field(ge=0, description="Chunk length in milliseconds.")
    channels: int = Field(1, ge=1)
    format: str = Field("wav", description="Encoding, e.g. wav or pcm_s16le.")
    file_id: str | None = Field(None, description="Client's id of the recording.")
    metadata: Metadata = None


class ImageData(Envelope):
    """A camera photo or a screenshot."""

    image_data: Binary = Field(description="The encoded image bytes.")
    width: int = Field(ge=0, description="Width in pixels, as the client reports.")
    height: int = Field(ge=0, description="Height in pixels, as the client reports.")
    format: str = Field("jpeg", description="Encoding, e.g. jpeg or png.")
    camera_type: str | None = Field(None, description="front, rear or screen.")
    file_size: int | None = Field(None, ge=0, description="Size in bytes.")
    metadata: Metadata = None


class VideoData(Envelope):
    """A screen recording clip."""

    video_data: Binary = Field(description="The encoded video bytes.")
    format: str = Field(description="Container, e.g. mp4.")
    duration: float = Field(ge=0.0, description="Clip length in seconds.")
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    fps: float | None = Field(None, ge=0.0, description="Frames per second.")
    file_size: int | None = Field(None, ge=0, description="Size in bytes.")
    capture_location: JsonObject | None = None
    metadata: Metadata = None
