"""Reverse geocoding: the stage interface, its result type and an offline
backend over a small place table."""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import Backend
from loomlite.errors import ConfigurationError

__all__ = [
    "PLACE_COLUMNS",
    "Place",
    "PlaceTableGeocoder",
    "ReverseGeocoder",
    "validate_coordinates",
]

logger = logging.getLogger(__name__)

PLACE_COLUMNS: Final = (
    "name",
    "latitude",
    "longitude",
    "radius_m",
    "locality",
    "country_code",
)
# Mean Earth radius (IUGG) in metres, the sphere that geo.haversine_distance uses.
# TODO: import EARTH_RADIUS_M from loomlite.components.enrich.geo instead of
# keeping this copy.
EARTH_RADIUS_M: Final = 6_371_008.8
# Points per block in ``lookup_many``: a block's distance matrix has
# block x places float64 values (4096 x 100 places = 3.2 MB).
_BLOCK: Final = 4096


@dataclass(frozen=True, slots=True)
class Place:
    """The place found for a coordinate."""

    name: str
    locality: str
    """Town or city that contains the place, equal to ``name`` for a locality."""
    country_code: str
    """ISO 3166-1 alpha-2, upper case."""
    distance_m: float
    """Great-circle distance from the coordinate to the place's centre."""
    source: str
    """Name of the backend that found the place."""
    within_radius: bool
    """True when the coordinate lies inside the place's radius. False when the
    place is only the nearest locality."""
    region: str = ""
    """State, province or other first-level division; empty when unknown."""


@runtime_checkable
class ReverseGeocoder(Backend, Protocol):
    """A reverse-geocoding backend. Components call it in a worker thread."""

    def lookup(self, latitude: float, longitude: float) -> Place | None:
        """Return the place at a WGS 84 coordinate in degrees, or None.

        Raises ValueError when a coordinate is not finite or out of range.
        """
        ...

    def lookup_many(
        self, coordinates: Sequence[tuple[float, float]]
    ) -> list[Place | None]:
        """Return one result per ``(latitude, longitude)`` pair, in order."""
        ...


def validate_coordinates(latitude: float, longitude: float) -> None:
    """Raise ValueError unless both values are finite and within WGS 84 range."""
    for label, value, limit in (
        ("latitude", latitude, 90.0),
        ("longitude", longitude, 180.0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{label} must be a number, got {value!r}")
        if not math.isfinite(value) or abs(value) > limit:
            raise ValueError(
                f"{label} {value!r} is invalid; expected a finite number "
                f"from {-limit:g} to {limit:g} degrees"
            )


class PlaceTableGeocoder:
    """Nearest-place lookup over a small offline CSV table.

    Columns: name, latitude, longitude, radius_m, locality, country_code. A
    coordinate inside one or more places' radii gets the nearest of them.
    Otherwise it gets the nearest locality (a row whose name equals its
    locality) within ``max_locality_distance_m``, with ``within_radius``
    False, and otherwise None. The default table is the packaged
    ``fixtures/places/places.csv``, a few dozen hand-placed entries around the
    simulator's GPX tracks plus major world cities. It is a stand-in for a
    real gazetteer, so most of the world resolves to None.
    """

    name = "simulated-places"
    simulated = True

    def __init__(
        self,
        *,
        places_path: str | Path | None = None,
        max_locality_distance_m: float = 50_000.0,
    ) -> None:
        if not math.isfinite(max_locality_distance_m) or max_locality_distance_m < 0:
            raise ValueError(
                "max_locality_distance_m must be a finite distance of 0 m or "
                f"more, got {max_locality_distance_m!r}"
            )
        path = (
            Path(places_path) if places_path else fixture_path("places", "places.csv")
        )
        self._table = _PlaceTable.read(path)
        self.max_locality_distance_m = max_locality_distance_m
        logger.info("read %d places from %s", len(self._table.names), path)

    def lookup(self, latitude: float, longitude: float) -> Place | None:
        """Return the place at the coordinate, as the class docstring describes."""
        validate_coordinates(latitude, longitude)
        return self._resolve(np.array([[latitude, longitude]], dtype=np.float64))[0]

    def lookup_many(
        self, coordinates: Sequence[tuple[float, float]]
    ) -> list[Place | None]:
        """Return one result per ``(latitude, longitude)`` pair, in order.

        Raises ValueError naming the index of the first invalid pair.
        """
        for index, pair in enumerate(coordinates):
            try:
                latitude, longitude = pair
                validate_coordinates(latitude, longitude)
            except (TypeError, ValueError) as error:
                raise ValueError(f"coordinate {index}: {error}") from None
        points = np.asarray(coordinates, dtype=np.float64).reshape(-1, 2)
        results: list[Place | None] = []
        for start in range(0, points.shape[0], _BLOCK):
            results.extend(self._resolve(points[start : start + _BLOCK]))
        return results

    def _resolve(self, points: npt.NDArray[np.float64]) -> list[Place | None]:
        table = self._table
        if not table.names:
            return [None] * points.shape[0]
        distances = table.distances_from(points)

        inside = np.where(distances <= table.radii, distances, np.inf)
        nearest_inside = np.argmin(inside, axis=1)
        localities = np.where(table.is_locality, distances, np.inf)
        nearest_locality = np.argmin(localities, axis=1)

        results: list[Place | None] = []
        for row in range(points.shape[0]):
            index = int(nearest_inside[row])
            within = bool(np.isfinite(inside[row, index]))
            if not within:
                index = int(nearest_locality[row])
                if localities[row, index] > self.max_locality_distance_m:
                    results.append(None)
                    continue
            results.append(table.place(index, float(distances[row, index]), within))
        return results


@dataclass(frozen=True, slots=True)
class _PlaceTable:
    names: tuple[str, ...]
    localities: tuple[str, ...]
    country_codes: tuple[str, ...]
    latitudes: npt.NDArray[np.float64]
    """In radians, like ``longitudes``."""
    longitudes: npt.NDArray[np.float64]
    radii: npt.NDArray[np.float64]
    is_locality: npt.NDArray[np.bool_]

    def distances_from(
        self, points: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Return great-circle distances in metres, shape (points, places).

        This is the haversine formula on a sphere of ``EARTH_RADIUS_M``,
        vectorised. ``points`` has shape (points, 2) in degrees.
        """
        point_latitudes = np.radians(points[:, :1])
        point_longitudes = np.radians(points[:, 1:])
        half_chord = (
            np.sin((self.latitudes - point_latitudes) / 2) ** 2
            + np.cos(point_latitudes)
            * np.cos(self.latitudes)
            * np.sin((self.longitudes - point_longitudes) / 2) ** 2
        )
        distances: npt.NDArray[np.float64] = (
            2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(half_chord, 1.0)))
        )
        return distances

    def place(self, index: int, distance_m: float, within_radius: bool) -> Place:
        return Place(
            name=self.names[index],
            locality=self.localities[index],
            country_code=self.country_codes[index],
            distance_m=round(distance_m, 1),
            source=PlaceTableGeocoder.name,
            within_radius=within_radius,
        )

    @classmethod
    def read(cls, path: Path) -> _PlaceTable:
        """Read and validate the CSV. Raises ConfigurationError naming the line."""
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                missing = set(PLACE_COLUMNS) - set(reader.fieldnames or ())
                if missing:
                    raise ConfigurationError(
                        f"place table is missing the columns {sorted(missing)}; "
                        f"expected {', '.join(PLACE_COLUMNS)}",
                        source=path,
                    )
                rows = [_parse_row(row, reader.line_num, path) for row in reader]
        except OSError as error:
            raise ConfigurationError(
                f"failed to read the place table: {error}", source=path
            ) from error
        return cls(
            names=tuple(row[0] for row in rows),
            localities=tuple(row[4] for row in rows),
            country_codes=tuple(row[5] for row in rows),
            latitudes=np.radians(np.array([row[1] for row in rows], dtype=np.float64)),
            longitudes=np.radians(np.array([row[2] for row in rows], dtype=np.float64)),
            radii=np.array([row[3] for row in rows], dtype=np.float64),
            is_locality=np.array([row[0] == row[4] for row in rows], dtype=bool),
        )


def _parse_row(
    row: dict[str, str], line: int, path: Path
) -> tuple[str, float, float, float, str, str]:
    try:
        name = row["name"].strip()
        latitude = float(row["latitude"])
        longitude = float(row["longitude"])
        radius = float(row["radius_m"])
        locality = row["locality"].strip()
        country_code = row["country_code"].strip()
        validate_coordinates(latitude, longitude)
        if not name or not locality:
            raise ValueError("name and locality must not be empty")
        if not (math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius_m {radius!r} must be a positive distance")
        if (
            len(country_code) != 2
            or not country_code.isascii()
            or not country_code.isalpha()
            or not country_code.isupper()
        ):
            raise ValueError(
                f"country_code {country_code!r} must be two upper-case letters"
            )
    except (AttributeError, TypeError, ValueError) as error:
        raise ConfigurationError(
            f"invalid place on line {line}: {error}", source=path
        ) from None
    return name, latitude, longitude, radius, locality, country_code
