"""The Haar face detector and the tags describer on real images."""

from __future__ import annotations

import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.errors import ConfigurationError, ImageFormatError
from tests.backends.installed import require_modules

pytestmark = pytest.mark.models


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
