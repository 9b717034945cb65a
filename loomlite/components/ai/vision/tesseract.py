"""OCR with the Tesseract engine from the operating system, through pytesseract."""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import Iterable
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
import pytesseract

from loomlite.components.ai.ocr import EMPTY_RESULT, OcrLine, OcrResult
from loomlite.components.ai.vision.decode import (
    DEFAULT_MAX_PIXELS,
    decode_image,
    quiet_opencv,
)
from loomlite.components.ai.vision.reading_order import TextBox, group_rows, join_rows
from loomlite.errors import ConfigurationError

__all__ = ["TesseractRecognizer"]

logger = logging.getLogger(__name__)

_INSTALL_HINT: Final = (
    "install it with: apt-get install tesseract-ocr tesseract-ocr-eng "
    "(Debian and Ubuntu)"
)


class TesseractRecognizer:
    """Reads text with Tesseract 5 (Apache-2.0), the fallback to ``rapidocr``.

    Tesseract is a system program, not a pip package, so this backend needs
    the ``tesseract`` binary and its ``lang`` data on the PATH. The image is
    scaled by ``scale`` first, because Tesseract misreads text below about
    14 pixels. Tesseract's words are joined into its own lines, lines whose
    words have a mean confidence below ``min_confidence`` are dropped, and
    the rest are sorted into rows like the rapidocr backend does.
    Undecodable or oversized images raise ImageFormatError.
    """

    name = "tesseract"
    simulated = False

    def __init__(
        self,
        *,
        lang: str = "eng",
        scale: float = 2.0,
        min_confidence: float = 0.3,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if not 1.0 <= scale <= 4.0:
            raise ValueError(f"scale {scale!r} is out of range; expected 1-4")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(
                f"min_confidence {min_confidence!r} is out of range; expected 0-1"
            )
        _check_installation(lang)
        self.lang = lang
        self.scale = scale
        self.min_confidence = min_confidence
        self.max_pixels = max_pixels
        quiet_opencv()

    def recognize(self, image: bytes, format: str) -> OcrResult:
        """Return the text in ``image``, as the class docstring describes."""
        pixels = decode_image(image, format, max_pixels=self.max_pixels)
        boxes = self.detect_boxes(pixels)
        if not boxes:
            return EMPTY_RESULT

        rows = group_rows(boxes)
        lines = tuple(
            OcrLine(box.text, box.confidence, (box.x, box.y, box.width, box.height))
            for row in rows
            for box in row
        )
        characters = sum(len(line.text) for line in lines)
        confidence = (
            sum(line.confidence * len(line.text) for line in lines) / characters
        )
        return OcrResult(text=join_rows(rows), lines=lines, confidence=confidence)

    def detect_boxes(self, pixels: npt.NDArray[np.uint8]) -> list[TextBox]:
        """Return one box per Tesseract line of a BGR image, in image pixels."""
        grey = np.asarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        if self.scale != 1.0:
            resized = cv2.resize(
                grey,
                None,
                fx=self.scale,
                fy=self.scale,
                interpolation=cv2.INTER_CUBIC,
            )
            grey = np.asarray(resized, dtype=np.uint8)
        # Tesseract expects dark text on a light page, so dark-mode
        # screens are inverted.
        if float(grey.mean()) < 128:
            grey = np.asarray(cv2.bitwise_not(grey), dtype=np.uint8)
        data = pytesseract.image_to_data(
            grey, lang=self.lang, output_type=pytesseract.Output.DICT
        )
        return [
            box
            for box in _lines(data, self.scale)
            if box.confidence >= self.min_confidence
        ]


def _lines(data: dict[str, list[Any]], scale: float) -> Iterable[TextBox]:
    """Join Tesseract's words into its lines, split at wide gaps."""
    words: dict[tuple[int, int, int], list[int]] = {}
    for index, text in enumerate(data["text"]):
        if str(text).strip() and float(data["conf"][index]) >= 0:
            key = (
                int(data["block_num"][index]),
                int(data["par_num"][index]),
                int(data["line_num"][index]),
            )
            words.setdefault(key, []).append(index)

    for line in words.values():
        for indices in _split_at_gaps(line, data):
            yield _line_box(indices, data, scale)


def _split_at_gaps(indices: list[int], data: dict[str, list[Any]]) -> list[list[int]]:
    """Split a line where the gap between two words exceeds twice the word height.

    Tesseract joins text across columns when it sits at the same height,
    such as a setting and its value at the far right of a row.
    """
    parts = [[indices[0]]]
    for previous, current in itertools.pairwise(indices):
        gap = int(data["left"][current]) - (
            int(data["left"][previous]) + int(data["width"][previous])
        )
        height = max(int(data["height"][previous]), int(data["height"][current]))
        if gap > 2 * height:
            parts.append([current])
        else:
            parts[-1].append(current)
    return parts


def _line_box(indices: list[int], data: dict[str, list[Any]], scale: float) -> TextBox:
    """Return the box around some words of a line, scaled back to the image."""
    left = min(int(data["left"][i]) for i in indices)
    top = min(int(data["top"][i]) for i in indices)
    right = max(int(data["left"][i]) + int(data["width"][i]) for i in indices)
    bottom = max(int(data["top"][i]) + int(data["height"][i]) for i in indices)
    # Tesseract reports word confidence from 0 to 100.
    confidence = sum(float(data["conf"][i]) for i in indices) / len(indices) / 100
    return TextBox(
        text=" ".join(str(data["text"][i]).strip() for i in indices),
        confidence=min(1.0, max(0.0, confidence)),
        x=round(left / scale),
        y=round(top / scale),
        width=max(1, round((right - left) / scale)),
        height=max(1, round((bottom - top) / scale)),
    )


def _check_installation(lang: str) -> None:
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise ConfigurationError(
            f"the tesseract program was not found on the PATH; {_INSTALL_HINT}",
            key="ocr.backend",
        )
    languages = pytesseract.get_languages(config="")
    missing = [code for code in lang.split("+") if code not in languages]
    if missing:
        raise ConfigurationError(
            f"tesseract has no data for language(s) {', '.join(missing)} "
            f"(installed: {', '.join(sorted(languages)) or 'none'}); install "
            f"the tesseract-ocr-{missing[0]} package",
            key="ocr.options",
        )
    logger.info(
        "tesseract %s with languages %s", pytesseract.get_tesseract_version(), lang
    )
