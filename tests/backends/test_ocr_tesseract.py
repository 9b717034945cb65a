"""The tesseract OCR backend, the fallback to rapidocr, on Debian's Tesseract 5."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.ocr import TextRecognizer
from loomlite.errors import ConfigurationError, ImageFormatError
from loomlite.evaluation import vision
from tests.backends.installed import require_modules, require_program

pytestmark = pytest.mark.models

# Tesseract scores about 0.95 on the screenshots (rapidocr about 0.98). It
# misses text on coloured chat bubbles, so the fallback gets a lower floor
# than the rapidocr threshold, to catch regressions.
TESSERACT_FLOOR = 0.93


def require_tesseract() -> None:
    require_modules("pytesseract", "cv2")
    require_program("tesseract", "tesseract-ocr tesseract-ocr-eng")


@pytest.fixture(scope="module")
def recognizer() -> Iterator[TextRecognizer]:
    require_tesseract()
    yield load_backend("ocr", "tesseract")


def test_tesseract_stays_above_floor(record_property: Any) -> None:
    require_tesseract()

    [score] = vision.evaluate(["tesseract"])
    record_property("character_accuracy", score.value)

    assert score.value >= TESSERACT_FLOOR
    assert score.details["desktop-email"] >= 0.98
    assert score.details["desktop-notes"] >= 0.98


def test_tesseract_splits_row_at_wide_gap(recognizer: TextRecognizer) -> None:
    png = fixture_path("images", "phone-settings.png").read_bytes()

    result = recognizer.recognize(png, "png")

    texts = [line.text for line in result.lines]
    assert "Wi-Fi" in texts
    assert "Home-5G" in texts
    assert result.text.splitlines()[1] == "Wi-Fi Home-5G"


def test_tesseract_rejects_corrupt_image(recognizer: TextRecognizer) -> None:
    with pytest.raises(ImageFormatError, match="failed to decode 9 bytes"):
        recognizer.recognize(b"\xff\xd8\xffbroken", "jpeg")


def test_tesseract_missing_language_names_package() -> None:
    require_tesseract()

    with pytest.raises(ConfigurationError, match="tesseract-ocr-xyz"):
        load_backend("ocr", "tesseract", lang="xyz")
