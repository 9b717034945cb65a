"""The Haar face detector and the tags describer on real images."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.component import INPUT_TOPICS, AiComponent
from loomlite.contract.models import ImageData, ProcessingError, VisionAnnotation
from loomlite.errors import ConfigurationError, ImageFormatError
from loomlite.testing import pipeline
from tests.backends.installed import require_modules
from tests.integration.support import fast_settings

pytestmark = pytest.mark.models

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CAMERA = "device.image.camera.raw"
ANNOTATIONS = "media.image.vision_annotations"
CAPTION_ERRORS = "processing.errors.caption"


def photo(name: str) -> bytes:
    return fixture_path("photos", f"{name}.jpg").read_bytes()


def screenshot(name: str) -> bytes:
    return fixture_path("images", f"{name}.png").read_bytes()


def test_haar_finds_astronaut_face() -> None:
    require_modules("cv2")
    detector = load_backend("faces", "haar")

    faces = detector.detect(photo("astronaut"), "jpeg")

    assert len(faces) == 1
    face = faces[0]
    # The face lies in the upper middle of the 320x320 portrait.
    assert 80 <= face.x + face.width / 2 <= 200
    assert 40 <= face.y + face.height / 2 <= 120
    assert face.width >= 40


@pytest.mark.parametrize("name", ["coffee"])
def test_haar_finds_no_face_in_photo(name: str) -> None:
    require_modules("cv2")
    detector = load_backend("faces", "haar")

    assert detector.detect(photo(name), "jpeg") == ()


def test_haar_finds_no_face_in_screenshots() -> None:
    require_modules("cv2")
    detector = load_backend("faces", "haar")

    for path in sorted(fixture_path("images").glob("*.png")):
        assert detector.detect(path.read_bytes(), "png") == (), path.name


def test_haar_rejects_corrupt_jpeg() -> None:
    require_modules("cv2")
    detector = load_backend("faces", "haar")

    with pytest.raises(ImageFormatError, match="declared as 'jpeg'"):
        detector.detect(photo("astronaut")[:200], "jpeg")


def test_haar_rejects_invalid_scale_factor() -> None:
    require_modules("cv2")

    with pytest.raises(ConfigurationError, match=r"scale_factor 1\.0 is out of range"):
        load_backend("faces", "haar", scale_factor=1.0)


def test_tags_name_text_and_colours() -> None:
    require_modules("cv2", "rapidocr", "onnxruntime")
    describer = load_backend("caption", "tags")

    description = describer.describe(screenshot("desktop-email"), "png")

    assert describer.simulated is False
    assert description.tags[:3] == ("png", "landscape", "aspect-16:10")
    assert "text" in description.tags
    assert "word:hiking" in description.tags or "word:inbox" in description.tags
    assert "no-faces" in description.tags
    assert "light" in description.tags
    assert "white" in description.tags
    assert description.dominant_colours[0] == "#fafafc"
    assert "13 text region(s)" in description.caption


def test_tags_count_face_in_photo() -> None:
    require_modules("cv2")
    describer = load_backend("caption", "tags", ocr=None)

    description = describer.describe(photo("astronaut"), "jpeg")

    assert "faces-1" in description.tags
    assert "1 face" in description.caption
    assert "text" not in description.tags
    assert description.tags[:2] == ("jpeg", "square")


def test_tags_without_faces_option() -> None:
    require_modules("cv2")
    describer = load_backend("caption", "tags", ocr=None, faces=None)

    description = describer.describe(photo("coffee"), "jpeg")

    assert not any(tag.startswith("faces") for tag in description.tags)
    assert "no-faces" not in description.tags
    assert description.dominant_colours


def test_tags_reject_simulated_ocr() -> None:
    require_modules("cv2")

    with pytest.raises(ConfigurationError, match="does not read pixels"):
        load_backend("caption", "tags", ocr="simulated")


def test_tags_reject_corrupt_image() -> None:
    require_modules("cv2")
    describer = load_backend("caption", "tags", ocr=None)

    with pytest.raises(ImageFormatError, match="failed to decode 4 bytes"):
        describer.describe(b"\x89PNG", "png")


def camera_message(jpeg: bytes, width: int, height: int) -> ImageData:
    return ImageData(
        device_id="phone-1",
        recorded_at=START,
        received_at=START,
        image_data=jpeg,
        width=width,
        height=height,
        format="jpeg",
        camera_type="front",
    )


@pytest.mark.anyio
async def test_caption_stage_publishes_tags() -> None:
    require_modules("cv2")
    portrait = camera_message(photo("astronaut"), 320, 320)
    corrupt = camera_message(photo("coffee")[:100], 400, 300)
    settings = fast_settings(
        {
            "ai": {
                "caption_backend": "tags",
                "backend_options": {"caption": {"ocr": None}},
            }
        }
    )
    runtime = pipeline(
        settings=settings,
        components=[AiComponent()],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )

    async with runtime:
        await runtime.publish(CAMERA, corrupt)
        await runtime.publish(CAMERA, portrait)
        await runtime.run_until_idle(timeout=60)

    annotations: list[VisionAnnotation] = runtime.messages(ANNOTATIONS)
    assert [item.source_message_id for item in annotations] == [portrait.message_id]
    assert annotations[0].backend == "tags"
    assert "1 face" in annotations[0].caption

    errors: list[ProcessingError] = runtime.messages(CAPTION_ERRORS)
    assert len(errors) == 1
    assert errors[0].error_type == "ImageFormatError"
    assert errors[0].trace_id == corrupt.trace_id
