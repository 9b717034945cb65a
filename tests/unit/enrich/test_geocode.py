"""The place-table reverse geocoder: GPX areas, fallbacks, validation and speed."""

from __future__ import annotations

import math
import random
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.enrich.geocode import (
    PlaceTableGeocoder,
    ReverseGeocoder,
    validate_coordinates,
)
from loomlite.errors import ConfigurationError

# Points taken from the three GPX tracks that the phone simulator replays.
TRACK_POINTS = [
    # Mojstrovka.gpx: the hike starts at Vršič Pass and climbs to 2057 m.
    ((46.434981, 13.748273), "Vršič Pass", "Kranjska Gora"),
    ((46.435421, 13.748233), "Vršič Pass", "Kranjska Gora"),
    ((46.43117, 13.740652), "Mala Mojstrovka", "Kranjska Gora"),
    ((46.432221, 13.739012), "Mala Mojstrovka", "Kranjska Gora"),
    # around-visnjan-with-car.gpx: a short drive through Višnjan.
    ((45.273518851, 13.7142099626), "Višnjan", "Višnjan"),
    ((45.2809147071, 13.7199410051), "Višnjan", "Višnjan"),
    ((45.2763158921, 13.7197734509), "Višnjan", "Višnjan"),
    # cerknicko-jezero.gpx: a walk from Dolenje Jezero along the lake.
    ((45.772175035, 14.357659249), "Dolenje Jezero", "Cerknica"),
    ((45.768117523, 14.356315462), "Lake Cerknica", "Cerknica"),
    ((45.756751159, 14.362870194), "Lake Cerknica", "Cerknica"),
    ((45.791063569, 14.304568944), "Rakov Škocjan", "Cerknica"),
]
TRACK_LOCALITIES = {
    "Mojstrovka.gpx": ("Kranjska Gora", "SI"),
    "around-visnjan-with-car.gpx": ("Višnjan", "HR"),
    "cerknicko-jezero.gpx": ("Cerknica", "SI"),
}


def great_circle_m(
    latitude1: float, longitude1: float, latitude2: float, longitude2: float
) -> float:
    """Distance by the spherical law of cosines, a check independent of haversine."""
    phi1, phi2 = math.radians(latitude1), math.radians(latitude2)
    delta_lambda = math.radians(longitude2 - longitude1)
    cosine = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(
        phi2
    ) * math.cos(delta_lambda)
    return 6_371_008.8 * math.acos(min(1.0, cosine))


@pytest.fixture(scope="module")
def geocoder() -> PlaceTableGeocoder:
    return PlaceTableGeocoder()


def write_table(directory: Path, *rows: str) -> Path:
    path = directory / "places.csv"
    header = "name,latitude,longitude,radius_m,locality,country_code"
    path.write_text("\n".join([header, *rows]) + "\n", "utf-8")
    return path


def test_geocode_name_says_simulated(geocoder: PlaceTableGeocoder) -> None:
    assert geocoder.name.startswith("simulated")
    assert geocoder.simulated is True
    assert isinstance(geocoder, ReverseGeocoder)


@pytest.mark.parametrize(
    ("point", "name", "locality"), TRACK_POINTS, ids=lambda value: str(value)
)
def test_geocode_track_points(
    geocoder: PlaceTableGeocoder, point: tuple[float, float], name: str, locality: str
) -> None:
    place = geocoder.lookup(*point)

    assert place is not None
    assert place.name == name
    assert place.locality == locality
    assert place.within_radius is True
    assert place.source == "simulated-places"


@pytest.mark.parametrize("track", sorted(TRACK_LOCALITIES))
def test_geocode_every_track_point(geocoder: PlaceTableGeocoder, track: str) -> None:
    try:
        path = fixture_path("gpx", track)
    except FileNotFoundError:
        pytest.skip(f"fixtures/gpx/{track} is not in this checkout")
    points = [
        (float(element.attrib["lat"]), float(element.attrib["lon"]))
        for element in ElementTree.parse(path).iter()
        if element.tag.endswith("trkpt")
    ]
    locality, country_code = TRACK_LOCALITIES[track]

    places = geocoder.lookup_many(points)

    assert len(points) > 100
    for point, place in zip(points, places, strict=True):
        assert place is not None, point
        assert place.within_radius, point
        assert place.locality == locality, point
        assert place.country_code == country_code, point


def test_geocode_landmark_beats_city(geocoder: PlaceTableGeocoder) -> None:
    place = geocoder.lookup(48.8583, 2.2944)

    assert place is not None
    assert place.name == "Eiffel Tower"
    assert place.locality == "Paris"
    assert place.country_code == "FR"
    assert place.distance_m < 20


def test_geocode_falls_back_to_nearest_locality(
    geocoder: PlaceTableGeocoder,
) -> None:
    # Between Vršič and Kranjska Gora, outside every radius.
    place = geocoder.lookup(46.455, 13.765)

    assert place is not None
    assert place.name == "Kranjska Gora"
    assert place.within_radius is False
    expected = great_circle_m(46.455, 13.765, 46.4846, 13.7856)
    assert place.distance_m == pytest.approx(expected, abs=0.5)


def test_geocode_far_from_everything_is_none(geocoder: PlaceTableGeocoder) -> None:
    assert geocoder.lookup(0.0, -30.0) is None
    assert geocoder.lookup(-90.0, 0.0) is None


def test_geocode_locality_distance_option() -> None:
    near = PlaceTableGeocoder(max_locality_distance_m=1_000)

    assert near.lookup(46.455, 13.765) is None


def test_geocode_batch_matches_single(geocoder: PlaceTableGeocoder) -> None:
    rng = random.Random(7)
    points = [(rng.uniform(44.5, 47.0), rng.uniform(13.0, 15.5)) for _ in range(300)]
    points += [point for point, _, _ in TRACK_POINTS]

    assert geocoder.lookup_many(points) == [geocoder.lookup(*p) for p in points]


def test_geocode_batch_empty(geocoder: PlaceTableGeocoder) -> None:
    assert geocoder.lookup_many([]) == []


def test_geocode_distance_matches_reference(geocoder: PlaceTableGeocoder) -> None:
    place = geocoder.lookup(45.2735, 13.7142)

    assert place is not None
    expected = great_circle_m(45.2735, 13.7142, 45.2756, 13.7202)
    assert place.distance_m == pytest.approx(expected, abs=0.5)


def test_geocode_across_antimeridian(tmp_path: Path) -> None:
    path = write_table(tmp_path, "Dateline buoy,0.0,179.99,5000,Dateline buoy,KI")
    geocoder = PlaceTableGeocoder(places_path=path)

    place = geocoder.lookup(0.0, -179.99)

    assert place is not None
    assert place.within_radius is True
    assert place.distance_m == pytest.approx(2_223.9, abs=1.0)


@pytest.mark.parametrize(
    ("latitude", "longitude", "shown"),
    [
        (math.nan, 14.0, "latitude nan"),
        (45.0, math.inf, "longitude inf"),
        (90.5, 14.0, "latitude 90.5"),
        (45.0, -180.01, "longitude -180.01"),
        ("45", 14.0, "latitude must be a number, got '45'"),
        (True, 14.0, "latitude must be a number, got True"),
    ],
)
def test_geocode_rejects_invalid_coordinates(
    geocoder: PlaceTableGeocoder, latitude: float, longitude: float, shown: str
) -> None:
    with pytest.raises(ValueError) as caught:
        geocoder.lookup(latitude, longitude)

    assert shown in str(caught.value)


def test_geocode_batch_names_bad_index(geocoder: PlaceTableGeocoder) -> None:
    with pytest.raises(ValueError, match=r"coordinate 2: latitude 123\.0 is invalid"):
        geocoder.lookup_many([(45.0, 14.0), (46.0, 13.0), (123.0, 14.0)])


def test_validate_coordinates_accepts_limits() -> None:
    validate_coordinates(90, -180)
    validate_coordinates(-90.0, 180.0)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["Nowhere,95.0,14.0,100,Nowhere,SI"], "line 2: latitude 95.0 is invalid"),
        (["Nowhere,45.0,14.0,-5,Nowhere,SI"], "line 2: radius_m -5.0"),
        (["Nowhere,45.0,14.0,100,Nowhere,si"], "country_code 'si'"),
        (["Nowhere,45.0,14.0,100,Nowhere,S1"], "country_code 'S1'"),
        (["A,45.0,14.0,100,A,SI", "B,north,14.0,100,B,SI"], "line 3"),
        (["Short,45.0,14.0"], "line 2"),
    ],
    ids=["latitude", "radius", "lower-case", "digit", "text-number", "short-row"],
)
def test_geocode_rejects_invalid_table(
    tmp_path: Path, rows: list[str], message: str
) -> None:
    path = write_table(tmp_path, *rows)

    with pytest.raises(ConfigurationError, match=message) as caught:
        PlaceTableGeocoder(places_path=path)

    assert caught.value.source == path


def test_geocode_table_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "places.csv"
    path.write_text("name,latitude,longitude\nA,1,2\n", "utf-8")

    with pytest.raises(ConfigurationError, match="missing the columns"):
        PlaceTableGeocoder(places_path=path)


def test_geocode_table_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="failed to read the place table"):
        PlaceTableGeocoder(places_path=tmp_path / "absent.csv")


def test_geocode_empty_table(tmp_path: Path) -> None:
    geocoder = PlaceTableGeocoder(places_path=write_table(tmp_path))

    assert geocoder.lookup(45.0, 14.0) is None
    assert geocoder.lookup_many([(45.0, 14.0)]) == [None]


def test_geocode_rejects_negative_locality_distance() -> None:
    with pytest.raises(ValueError, match="max_locality_distance_m"):
        PlaceTableGeocoder(max_locality_distance_m=-1.0)


def test_geocode_lookups_per_second(
    geocoder: PlaceTableGeocoder, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(11)
    points = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(20_000)]

    started = time.perf_counter()
    geocoder.lookup_many(points)
    batch_rate = len(points) / (time.perf_counter() - started)

    started = time.perf_counter()
    for point in points[:2_000]:
        geocoder.lookup(*point)
    single_rate = 2_000 / (time.perf_counter() - started)

    with capsys.disabled():
        print(
            f"\nplace-table geocoder: {batch_rate:,.0f} lookups/s in batches, "
            f"{single_rate:,.0f} lookups/s one at a time"
        )
    # Loose floors, far below the measured rates, to catch a lost vectorisation.
    assert batch_rate > 5_000
    assert single_rate > 1_000
