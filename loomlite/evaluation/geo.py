"""Score reverse-geocoding backends on landmarks with known countries.

``fixtures/places/landmarks.csv`` lists landmarks on six continents with
their WGS 84 coordinates and ISO 3166-1 country codes. A landmark counts as
right when the backend returns a place with that country code, and as wrong
when it returns another country or no place.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.components.enrich.geocode import ReverseGeocoder
from loomlite.evaluation._common import load_backends
from loomlite.evaluation.score import Score

__all__ = [
    "COUNTRY_ACCURACY_THRESHOLD",
    "STAGES",
    "Landmark",
    "evaluate",
    "load_landmarks",
    "measure_speed",
]

COUNTRY_ACCURACY_THRESHOLD: Final = 1.0
STAGES: Final = ("geocode",)
"""Registry stages whose backends ``evaluate`` scores."""
DEFAULT_BACKENDS: Final = ("reverse-geocoder",)
FIXTURES: Final = "fixtures/places/landmarks.csv"
# Random points per lookup_many call when measuring speed.
_SPEED_BATCH: Final = 5_000


@dataclass(frozen=True, slots=True)
class Landmark:
    """A named point and the country it lies in."""

    name: str
    latitude: float
    longitude: float
    country_code: str
    continent: str


def load_landmarks() -> list[Landmark]:
    """Read the landmarks from ``fixtures/places/landmarks.csv``."""
    path = fixture_path("places", "landmarks.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Landmark(
                name=row["name"],
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                country_code=row["country_code"],
                continent=row["continent"],
            )
            for row in csv.DictReader(handle)
        ]


def evaluate(backends: Sequence[str] | None = None) -> list[Score]:
    """Score geocoders on the landmarks: by default the installed real ones.

    ``backends`` names the backends to score, and names of other stages are
    ignored. The details map each landmark to 1.0 (right country) or 0.0.
    """
    landmarks = load_landmarks()
    scores = []
    geocoder: ReverseGeocoder
    for name, geocoder, started in load_backends("geocode", DEFAULT_BACKENDS, backends):
        places = geocoder.lookup_many(
            [(landmark.latitude, landmark.longitude) for landmark in landmarks]
        )
        details = {
            landmark.name: float(
                place is not None and place.country_code == landmark.country_code
            )
            for landmark, place in zip(landmarks, places, strict=True)
        }
        scores.append(
            Score(
                stage="geocode",
                backend=name,
                metric="country_accuracy",
                value=sum(details.values()) / len(landmarks),
                threshold=COUNTRY_ACCURACY_THRESHOLD,
                higher_is_better=True,
                items=len(landmarks),
                fixtures=FIXTURES,
                seconds=time.perf_counter() - started,
                details=details,
            )
        )
    return scores


def measure_speed(backend: str = "reverse-geocoder") -> tuple[float, str]:
    """Return the lookups per second of one geocoder on random points.

    The points are uniform in latitude and longitude from a fixed seed, and
    are looked up in batches of 5,000 for at least one second.
    """
    geocoder: ReverseGeocoder = load_backend("geocode", backend)
    generator = random.Random(20261204)
    points = [
        (generator.uniform(-90, 90), generator.uniform(-180, 180))
        for _ in range(_SPEED_BATCH)
    ]
    geocoder.lookup_many(points[:100])

    count = 0
    started = time.perf_counter()
    while count == 0 or time.perf_counter() - started < 1.0:
        geocoder.lookup_many(points)
        count += len(points)
    return count / (time.perf_counter() - started), "lookups/s"
