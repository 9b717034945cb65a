"""An image describer that builds tags from real models: words read by OCR, a
face count and the dominant colours. It is not a captioning model."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.caption import (
    ImageDescription,
    _dominant_colours,
    _pixel_tags,
    _shape_phrase,
    _shape_tags,
)
from loomlite.components.ai.imagesize import ImageSize, read_image_size
from loomlite.components.ai.vision.decode import DEFAULT_MAX_PIXELS, decode_image
from loomlite.components.ai.vision.faces import FaceDetector

if TYPE_CHECKING:
    from loomlite.components.ai.vision.reading_order import TextBox

__all__ = ["TagsDescriber"]

_WORD: Final = re.compile(r"[^\W\d_]{4,}")
# Frequent English words that carry no information about a screen's subject.
_STOP_WORDS: Final = frozenset(
    """
    about after also been before being could does from have here into just
    like more most much only other over some such than that their them then
    there these they this those through very what when where which while will
    with would your yours
    """.split()  # noqa: SIM905
)


@runtime_checkable
class _BoxDetector(Protocol):
    """An OCR backend that reads text boxes from decoded pixels."""

    def detect_boxes(self, pixels: npt.NDArray[np.uint8]) -> list[TextBox]: ...


class TagsDescriber:
    """Tags and a templated sentence from OCR words, faces and colours.

    No package on PyPI ships image-captioning weights that run offline, so
    this backend names what it can measure instead of describing the scene.
    The tags are the format, orientation and aspect ratio, ``text`` and up to
    ``keywords`` ``word:<word>`` tags when OCR finds text (the most frequent
    words of four or more letters, stop words left out), ``faces-<n>`` or
    ``no-faces`` from the face detector, light or dark, the contrast, and the
    names of the dominant colours. ``ocr`` and ``faces`` name the backends of
    the ``ocr`` and ``faces`` stages to use, and None leaves that part out.
    Undecodable or oversized images raise ImageFormatError.
    """

    name = "tags"
    simulated = False

    def __init__(
        self,
        *,
        ocr: str | None = "rapidocr",
        faces: str | None = "haar",
        keywords: int = 5,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if not 0 <= keywords <= 50:
            raise ValueError(f"keywords {keywords!r} is out of range; expected 0-50")
        self.keywords = keywords
        self.max_pixels = max_pixels
        self._ocr: _BoxDetector | None = None
        if ocr is not None:
            recognizer = load_backend("ocr", ocr)
            if not isinstance(recognizer, _BoxDetector):
                raise ValueError(
                    f"ocr backend {ocr!r} does not read pixels; expected 'rapidocr'"
                )
            self._ocr = recognizer
        self._faces: FaceDetector | None = (
            load_backend("faces", faces) if faces is not None else None
        )

    def describe(self, image: bytes, format: str) -> ImageDescription:
        """Return the tags and sentence, as the class docstring describes."""
        pixels = decode_image(image, format, max_pixels=self.max_pixels)
        height, width = pixels.shape[:2]
        header = read_image_size(image)
        size = ImageSize(header.format if header else format, width, height)

        tags = [size.format, *_shape_tags(size)]
        phrases = [_shape_phrase(size)]

        if self._ocr is not None:
            words = [box.text for box in self._ocr.detect_boxes(pixels)]
            text_tags, text_phrase = self._text_tags(words)
            tags += text_tags
            phrases.append(text_phrase)
        if self._faces is not None:
            count = len(self._faces.detect_pixels(pixels))
            tags.append(f"faces-{count}" if count else "no-faces")
            phrases.append(_face_phrase(count))

        rgb = np.asarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        colours, colour_names = _dominant_colours(rgb)
        tags += _pixel_tags(rgb)
        tags += [name for name in colour_names if name not in tags]
        if colour_names:
            phrases.append("colours " + ", ".join(colour_names))
        return ImageDescription("; ".join(phrases) + ".", tuple(tags), colours)

    def _text_tags(self, texts: list[str]) -> tuple[list[str], str]:
        if not texts:
            return [], "no text found"
        counts = Counter(
            word
            for text in texts
            for word in (match.lower() for match in _WORD.findall(text))
            if word not in _STOP_WORDS
        )
        top = [word for word, _ in counts.most_common(self.keywords)]
        phrase = f"{len(texts)} text region(s)"
        if top:
            phrase += " with the words " + ", ".join(top)
        return ["text", *(f"word:{word}" for word in top)], phrase


def _face_phrase(count: int) -> str:
    if count == 0:
        return "no faces found"
    if count == 1:
        return "1 face"
    return f"{count} faces"
