"""Score OCR backends on the screenshot fixtures: character accuracy and speed.

Each fixture in ``fixtures/images`` is a PNG with a JSON file that lists every
drawn text item and its bounding box. A recognised line is assigned to the
drawn item whose box it overlaps most, and each item's text is compared with
the lines assigned to it, joined left to right. Character accuracy is
1 - (edit distance + characters of lines that overlap no item) / characters of
the items, after whitespace is normalised. The score therefore measures
reading, not the order in which a backend lists the lines of a multi-column
screen. A backend that returns no boxes is compared on its whole text instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.ocr import OcrLine, TextRecognizer
from loomlite.evaluation._common import (
    edit_distance,
    load_backends,
    normalise_whitespace,
)
from loomlite.evaluation.score import Score

if TYPE_CHECKING:
    from loomlite.components.ai.vision.faces import FaceDetector

__all__ = [
    "CHARACTER_ACCURACY_THRESHOLD",
    "STAGES",
    "Screenshot",
    "character_accuracy",
    "evaluate",
    "load_screenshots",
    "measure_face_speed",
    "measure_speed",
]

CHARACTER_ACCURACY_THRESHOLD: Final = 0.98
STAGES: Final = ("ocr",)
"""Registry stages whose backends ``evaluate`` scores."""
DEFAULT_BACKENDS: Final = ("rapidocr", "tesseract")
# Tesseract is the fallback and scores below rapidocr's threshold, so its
# score is reported without one.
_THRESHOLDS: Final[dict[str, float | None]] = {"tesseract": None}
FIXTURES: Final = "fixtures/images"

Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Screenshot:
    """One fixture image and the text items drawn on it."""

    name: str
    png: bytes
    items: tuple[tuple[str, Box], ...]
    """Each drawn text and its ``(x, y, width, height)`` box in pixels."""
    text: str


def load_screenshots() -> list[Screenshot]:
    """Read every PNG in ``fixtures/images`` that has a JSON truth file."""
    directory = fixture_path("images")
    screenshots = []
    for png_path in sorted(directory.glob("*.png")):
        truth_path = png_path.with_suffix(".json")
        if not truth_path.is_file():
            continue
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        items = tuple((line["text"], _box(line["box"])) for line in truth["lines"])
        screenshots.append(
            Screenshot(png_path.stem, png_path.read_bytes(), items, truth["text"])
        )
    return screenshots


def _box(values: Sequence[int]) -> Box:
    x, y, width, height = (int(value) for value in values)
    return x, y, width, height


def character_accuracy(
    items: Sequence[tuple[str, Box]], lines: Sequence[OcrLine], text: str
) -> tuple[float, int, int]:
    """Return accuracy, errors and truth characters of one image.

    ``items`` are the drawn texts with boxes; ``lines`` and ``text`` are the
    backend's result. See the module docstring for the method.
    """
    truth_characters = sum(len(normalise_whitespace(item)) for item, _ in items)
    if any(line.box is None for line in lines) or not lines:
        truth_text = normalise_whitespace(" ".join(item for item, _ in items))
        errors = edit_distance(truth_text, normalise_whitespace(text))
        return _accuracy(errors, truth_characters), errors, truth_characters

    assigned: list[list[OcrLine]] = [[] for _ in items]
    errors = 0
    for line in lines:
        assert line.box is not None
        overlaps = [_overlap(line.box, box) for _, box in items]
        best = max(range(len(items)), key=overlaps.__getitem__)
        if overlaps[best] > 0:
            assigned[best].append(line)
        else:
            errors += len(normalise_whitespace(line.text))

    for (item, _), matched in zip(items, assigned, strict=True):
        matched.sort(key=lambda line: line.box[0] if line.box else 0)
        read = normalise_whitespace(" ".join(line.text for line in matched))
        errors += edit_distance(normalise_whitespace(item), read)
    return _accuracy(errors, truth_characters), errors, truth_characters


def evaluate(backends: Sequence[str] | None = None) -> list[Score]:
    """Score OCR backends on every screenshot: by default the installed real ones.

    ``backends`` names the backends to score, and names of other stages are
    ignored.
    """
    screenshots = load_screenshots()
    return [
        _score(name, recognizer, started, screenshots)
        for name, recognizer, started in load_backends(
            "ocr", DEFAULT_BACKENDS, backends
        )
    ]


def measure_speed(backend: str = "rapidocr") -> tuple[float, str]:
    """Return the images per second of one OCR backend on the screenshots.

    The model is loaded and run once on the first image before timing starts.
    """
    recognizer: TextRecognizer = load_backend("ocr", backend)
    screenshots = load_screenshots()
    recognizer.recognize(screenshots[0].png, "png")
    started = time.perf_counter()
    for screenshot in screenshots:
        recognizer.recognize(screenshot.png, "png")
    elapsed = time.perf_counter() - started
    return len(screenshots) / elapsed, "images/s"


def measure_face_speed(backend: str = "haar") -> tuple[float, str]:
    """Return the images per second of one face detector.

    The images are the photos in ``fixtures/photos`` and the screenshots,
    and each is detected once after one warm-up call.
    """
    detector: FaceDetector = load_backend("faces", backend)
    images = [(path.read_bytes(), "jpeg") for path in _photo_paths()]
    images += [(screenshot.png, "png") for screenshot in load_screenshots()]
    detector.detect(*images[0])
    started = time.perf_counter()
    for image, format in images:
        detector.detect(image, format)
    elapsed = time.perf_counter() - started
    return len(images) / elapsed, "images/s"


def _photo_paths() -> list[Path]:
    return sorted(fixture_path("photos").glob("*.jpg"))


def _score(
    name: str,
    recognizer: TextRecognizer,
    started: float,
    screenshots: Sequence[Screenshot],
) -> Score:
    total_errors = 0
    total_characters = 0
    details: dict[str, float] = {}
    for screenshot in screenshots:
        result = recognizer.recognize(screenshot.png, "png")
        accuracy, errors, characters = character_accuracy(
            screenshot.items, result.lines, result.text
        )
        details[screenshot.name] = round(accuracy, 4)
        total_errors += errors
        total_characters += characters
    return Score(
        stage="ocr",
        backend=name,
        metric="character_accuracy",
        value=_accuracy(total_errors, total_characters),
        threshold=_THRESHOLDS.get(name, CHARACTER_ACCURACY_THRESHOLD),
        higher_is_better=True,
        items=len(screenshots),
        fixtures=FIXTURES,
        seconds=time.perf_counter() - started,
        details=details,
    )


def _accuracy(errors: int, characters: int) -> float:
    if characters == 0:
        return 1.0 if errors == 0 else 0.0
    return max(0.0, 1.0 - errors / characters)


def _overlap(first: Box, second: Box) -> int:
    """Return the intersection area of two ``(x, y, width, height)`` boxes."""
    width = min(first[0] + first[2], second[0] + second[2]) - max(first[0], second[0])
    height = min(first[1] + first[3], second[1] + second[3]) - max(first[1], second[1])
    return max(0, width) * max(0, height)
