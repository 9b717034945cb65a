"""Optical character recognition: the stage interface, its result types and a
simulated backend."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from loomlite.components.ai.backends import Backend
from loomlite.components.ai.png import PngError, is_png, read_text

__all__ = [
    "TEXT_KEYWORD",
    "OcrLine",
    "OcrResult",
    "SimulatedTextRecognizer",
    "TextRecognizer",
]

logger = logging.getLogger(__name__)

# Keyword of the PNG text chunk in which loomlite's simulators store the text
# they drew, so that the simulated backend can return it.
TEXT_KEYWORD: Final = "loomlite:text"


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One line of recognised text."""

    text: str
    confidence: float
    """Between 0 and 1."""
    box: tuple[int, int, int, int] | None
    """``(x, y, width, height)`` in pixels, or None when the backend has no
    positions."""


@dataclass(frozen=True, slots=True)
class OcrResult:
    """The text of one image, line by line, with an overall confidence."""

    text: str
    """The lines joined with newlines."""
    lines: tuple[OcrLine, ...]
    confidence: float
    """Between 0 and 1, and 0 when no text was found."""


EMPTY_RESULT: Final = OcrResult(text="", lines=(), confidence=0.0)


@runtime_checkable
class TextRecognizer(Backend, Protocol):
    """An OCR backend. Components call ``recognize`` in a worker thread."""

    def recognize(self, image: bytes, format: str) -> OcrResult:
        """Return the text in ``image``, encoded as ``format`` (``png``, ``jpeg``).

        An image without text gives an empty result with confidence 0. A
        backend that reads pixels raises ImageFormatError for empty,
        undecodable or oversized data. The simulated backend returns the
        empty result for those too.
        """
        ...


class SimulatedTextRecognizer:
    """Returns the text that loomlite's simulators embed in their PNG screenshots.

    This backend reads no pixels. It returns the text of the PNG text chunk
    with keyword ``loomlite:text`` (tEXt, zTXt or iTXt) unchanged, and one line
    per non-blank line of it, each with confidence 1.0 and no box. Any other
    image, including a PNG without that chunk, a corrupt PNG, a JPEG or zero
    bytes, gives empty text with confidence 0. The ``format`` argument is
    ignored because the PNG signature decides.
    """

    name = "simulated"
    simulated = True

    def recognize(self, image: bytes, format: str) -> OcrResult:
        """Return the embedded text, as the class docstring describes."""
        if not is_png(image):
            return EMPTY_RESULT
        try:
            text = read_text(image, TEXT_KEYWORD)
        except PngError as error:
            logger.warning(
                "cannot read text chunks of a %d-byte PNG: %s", len(image), error
            )
            return EMPTY_RESULT
        if text is None or not text.strip():
            return EMPTY_RESULT

        lines = tuple(
            OcrLine(text=line, confidence=1.0, box=None)
            for line in text.split("\n")
            if line.strip()
        )
        return OcrResult(text=text, lines=lines, confidence=1.0)
