"""Derived image data: OCR text, captions and objects, faces, poses, gaze,
preprocessed images, spatial maps and image embeddings."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import (
    BoundingBox,
    Confidence,
    SourceMessageId,
    SourceTopic,
)
from loomlite.contract.types import Binary, ContractModel

__all__ = [
    "DetectedFace",
    "DetectedObject",
    "FaceEmotions",
    "Gaze",
    "GazeDetection",
    "ImageEmbedding",
    "Keypoint",
    "OcrResult",
    "Pose",
    "PoseDetection",
    "PreprocessedImage",
    "SpatialMap",
    "TextRegion",
    "VisionAnnotation",
]


class TextRegion(ContractModel):
    """One block of recognised text and where it is in the image."""

    text: str
    confidence: Confidence
    box: BoundingBox | None = None


class OcrResult(Envelope):
    """Text read from an image by optical character recognition."""

    source_topic: SourceTopic
    source_message_id: SourceMessageId
    text: str = Field(description="All recognised text in reading order.")
    regions: list[TextRegion] = []
    language: str | None = None
    backend: str = Field(min_length=1)


class DetectedObject(ContractModel):
    label: str
    confidence: Confidence
    box: BoundingBox | None = None


class VisionAnnotation(Envelope):
    """A caption of an image and the objects seen in it."""

    source_topic: SourceTopic
    source_message_id: SourceMessageId
    caption: str
    objects: list[DetectedObject] = []
    backend: str = Field(min_length=1)


class DetectedFace(ContractModel):
    """One face and its recognised emotion."""

    box: BoundingBox
    detection_confidence: Confidence
    emotion: str = Field(description="The label with the highest score.")
    emotion_confidence: Confidence
    scores: dict[str, float] = Field({}, description="Score per emotion label.")


class FaceEmotions(Envelope):
    """Faces found in one image; ``faces`` is empty when there are none."""

    source_topic: SourceTopic
    source_message_id: SourceMessageId
    faces: list[DetectedFace] = []
    backend: str = Field(min_length=1)


class PreprocessedImage(Envelope):
    """An image resized and checked for blur before analysis."""

    source_topic: SourceTopic
    source_message_id: SourceMessageId
    image_data: Binary
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    format: str = "jpeg"
    blur_score: float | None = Field(None, ge=0.0, description="Higher is sharper.")


class Keypoint(ContractModel):
    name: str = Field(description="e.g. left_wrist.")
    x: float = Field(description="Pixels from the left edge.")
    y: float = Field(description="Pixels from the top edge.")
    confidence: Confidence


class Pose(ContractModel):
    """The body keypoints of one person."""

    keypoints: list[Keypoint]
    confidence: Confidence


class PoseDetection(Envelope):
    source_message_id: SourceMessageId
    poses: list[Pose] = []
    backend: str = Field(min_length=1)


class Gaze(ContractModel):
    """The gaze direction of one face, relative to the camera axis."""

    box: BoundingBox
    yaw_degrees: float = Field(ge=-180.0, le=180.0)
    pitch_degrees: float = Field(ge=-90.0, le=90.0)
    confidence: Confidence


class GazeDetection(Envelope):
    source_message_id: SourceMessageId
    gazes: list[Gaze] = []
    backend: str = Field(min_length=1)


class SpatialMap(Envelope):
    """A 3D reconstruction built from a series of camera images."""

    source_message_ids: list[str] = Field(min_length=1)
    point_count: int = Field(ge=0, description="Points in the reconstruction.")
    camera_positions: list[list[float]] = Field(
        [], description="One [x, y, z] position in metres per source image."
    )
    backend: str = Field(min_length=1)


class ImageEmbedding(Envelope):
    """A vector that places an image in an embedding space."""

    source_topic: SourceTopic
    source_message_id: SourceMessageId
    model: str = Field(min_length=1, description="Embedding model name.")
    dimensions: int = Field(gt=0)
    embedding: list[float]

    @model_validator(mode="after")
    def _check_dimensions(self) -> Self:
        if len(self.embedding) != self.dimensions:
            raise ValueError(
                f"embedding has {len(self.embedding)} values but dimensions "
                f"is {self.dimensions}"
            )
        return self
