"""Face detection: the interface and a backend on OpenCV's Haar cascade."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

import cv2
import cv2.data
import numpy as np
import numpy.typing as npt

from loomlite.components.ai.backends import Backend
from loomlite.components.ai.vision.decode import (
    DEFAULT_MAX_PIXELS,
    decode_image,
    quiet_opencv,
)
from loomlite.errors import ConfigurationError

__all__ = ["FaceBox", "FaceDetector", "HaarFaceDetector"]

# The frontal-face cascade that opencv-python-headless 4.x ships in
# cv2.data.haarcascades. OpenCV 5 removed the cascades.
_CASCADE_FILE: Final = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True, slots=True)
class FaceBox:
    """One detected face: ``(x, y, width, height)`` in pixels."""

    x: int
    y: int
    width: int
    height: int


@runtime_checkable
class FaceDetector(Backend, Protocol):
    """A face-detection backend. Callers run it in a worker thread."""

    def detect(self, image: bytes, format: str) -> tuple[FaceBox, ...]:
        """Return the faces in ``image``. Raises ImageFormatError when it
        cannot be decoded."""
        ...

    def detect_pixels(self, pixels: npt.NDArray[np.uint8]) -> tuple[FaceBox, ...]:
        """Return the faces in a decoded BGR image of shape (height, width, 3)."""
        ...


class HaarFaceDetector:
    """Frontal faces with OpenCV's Viola-Jones Haar cascade (Intel licence, BSD style).

    The image is converted to grey and its histogram equalised, then the
    cascade runs at scales growing by ``scale_factor``. A face needs
    ``min_neighbors`` overlapping hits and a side of at least ``min_size``
    pixels. The cascade finds upright, frontal faces only, misses profiles and
    strongly lit or small faces, and may fire on face-like texture.
    """

    name = "haar"
    simulated = False

    def __init__(
        self,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 24,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if not 1.01 <= scale_factor <= 2.0:
            raise ValueError(
                f"scale_factor {scale_factor!r} is out of range; expected 1.01-2.0"
            )
        if min_neighbors < 0:
            raise ValueError(f"min_neighbors must be 0 or more, got {min_neighbors!r}")
        if min_size < 8:
            raise ValueError(f"min_size must be 8 pixels or more, got {min_size!r}")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.max_pixels = max_pixels

        path = Path(cv2.data.haarcascades) / _CASCADE_FILE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ConfigurationError(
                f"failed to load the face cascade {path}; install OpenCV 4 with "
                "pip install 'loomlite[faces]'",
                key="faces.backend",
            )
        # OpenCV documents CascadeClassifier.detectMultiScale as not safe to
        # call from several threads on one object.
        self._lock = threading.Lock()
        quiet_opencv()

    def detect(self, image: bytes, format: str) -> tuple[FaceBox, ...]:
        """Decode ``image`` and return its faces, largest first."""
        return self.detect_pixels(
            decode_image(image, format, max_pixels=self.max_pixels)
        )

    def detect_pixels(self, pixels: npt.NDArray[np.uint8]) -> tuple[FaceBox, ...]:
        """Return the faces in a BGR image, largest first."""
        grey = cv2.equalizeHist(cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY))
        with self._lock:
            found = self._cascade.detectMultiScale(
                grey,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
            )
        faces = [FaceBox(int(x), int(y), int(w), int(h)) for x, y, w, h in found]
        faces.sort(key=lambda face: (-face.width * face.height, face.y, face.x))
        return tuple(faces)
