"""The rapidocr OCR backend on its bundled PP-OCRv6 weights."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.component import INPUT_TOPICS, AiComponent
from loomlite.components.ai.ocr import TextRecognizer
from loomlite.contract.models import ImageData, OcrResult, ProcessingError
from loomlite.errors import ConfigurationError, ImageFormatError
from loomlite.evaluation import vision
from loomlite.testing import pipeline
from tests.backends.installed import require_modules
from tests.integration.support import fast_settings

pytestmark = pytest.mark.models

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SCREENSHOTS = "device.image.screenshot.raw"
OCR_RESULTS = "media.image.analysis.moondream_results"
OCR_ERRORS = "processing.errors.ocr"


@pytest.fixture(scope="module")
def recognizer() -> Iterator[TextRecognizer]:
    require_modules("rapidocr", "onnxruntime", "cv2")
    yield load_backend("ocr", "rapidocr")


def fixture_png(name: str) -> bytes:
    return fixture_path("images", f"{name}.png").read_bytes()


def test_rapidocr_meets_accuracy_threshold(record_property: Any) -> None:
    require_modules("rapidocr", "onnxruntime", "cv2")

    [score] = vision.evaluate(["rapidocr"])
    record_property("character_accuracy", score.value)

    assert score.items >= 12
    assert score.value >= vision.CHARACTER_ACCURACY_THRESHOLD
    assert score.passed is True


def test_rapidocr_reads_lines_in_rows(recognizer: TextRecognizer) -> None:
    result = recognizer.recognize(fixture_png("phone-settings"), "png")

    assert result.text.splitlines()[:3] == ["Settings", "Wi-Fi Home-5G", "Bluetooth On"]
    assert 0.9 <= result.confidence <= 1.0
    assert all(line.box is not None for line in result.lines)


def test_rapidocr_reads_jpeg(recognizer: TextRecognizer) -> None:
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    pixels = cv2.imdecode(
        np.frombuffer(fixture_png("desktop-calendar"), np.uint8), cv2.IMREAD_COLOR
    )
    encoded, jpeg = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert encoded

    result = recognizer.recognize(jpeg.tobytes(), "jpeg")

    assert "Lunch at the central market" in result.text
    assert "Dentist appointment" in result.text


def test_rapidocr_blank_image_gives_empty_result(
    recognizer: TextRecognizer,
) -> None:
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    encoded, png = cv2.imencode(".png", np.full((200, 300, 3), 255, np.uint8))
    assert encoded

    result = recognizer.recognize(png.tobytes(), "png")

    assert result.text == ""
    assert result.lines == ()
    assert result.confidence == 0.0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"not an image at all", "failed to decode 19 bytes"),
        (
            fixture_path("images", "phone-chat.png").read_bytes()[:300],
            "failed to decode",
        ),
    ],
    ids=["empty", "garbage", "truncated-png"],
)
def test_rapidocr_rejects_undecodable_image(
    recognizer: TextRecognizer, data: bytes, expected: str
) -> None:
    with pytest.raises(ImageFormatError, match=expected) as caught:
        recognizer.recognize(data, "png")

    assert "'png'" in str(caught.value)
    assert caught.value.size == len(data)


def test_rapidocr_rejects_oversized_image() -> None:
    require_modules("rapidocr", "onnxruntime", "cv2")
    recognizer = load_backend("ocr", "rapidocr", max_pixels=100_000)

    with pytest.raises(ImageFormatError, match="640x400 pixels, more than"):
        recognizer.recognize(fixture_png("desktop-email"), "png")


def test_rapidocr_rejects_invalid_option() -> None:
    require_modules("rapidocr", "onnxruntime", "cv2")

    with pytest.raises(
        ConfigurationError, match=r"min_confidence 1\.5 is out of range"
    ):
        load_backend("ocr", "rapidocr", min_confidence=1.5)


def screenshot_message(png: bytes, recorded_at: datetime) -> ImageData:
    return ImageData(
        device_id="laptop-1",
        recorded_at=recorded_at,
        received_at=recorded_at,
        image_data=png,
        width=640,
        height=400,
        format="png",
        camera_type="screen",
    )


@pytest.mark.anyio
async def test_corrupt_screenshot_goes_to_ocr_errors() -> None:
    require_modules("rapidocr", "onnxruntime", "cv2")
    corrupt = screenshot_message(fixture_png("desktop-email")[:500], START)
    good = screenshot_message(fixture_png("desktop-calendar"), START)
    settings = fast_settings({"ai": {"ocr_backend": "rapidocr"}})
    runtime = pipeline(
        settings=settings,
        components=[AiComponent()],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )

    async with runtime:
        await runtime.publish(SCREENSHOTS, corrupt)
        await runtime.publish(SCREENSHOTS, good)
        await runtime.run_until_idle(timeout=60)

    errors: list[ProcessingError] = runtime.messages(OCR_ERRORS)
    assert len(errors) == 1
    error = errors[0]
    assert error.error_type == "ImageFormatError"
    assert "failed to decode 500 bytes" in error.error_message
    assert error.source_topic == SCREENSHOTS
    assert error.trace_id == corrupt.trace_id

    results: list[OcrResult] = runtime.messages(OCR_RESULTS)
    assert [result.source_message_id for result in results] == [good.message_id]
    assert results[0].backend == "rapidocr"
    assert "Stand-up meeting" in results[0].text
