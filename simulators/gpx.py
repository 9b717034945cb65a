"""Read GPX 1.0 and 1.1 files and give their tracks usable times.

Parsing uses only ``xml.etree.ElementTree`` and matches elements by local
name, so both GPX namespaces (and files without one) read the same way.
Vendor extensions such as Garmin's are ignored.

Real files are messy, and the parser keeps going where it can:

- a point with a missing, non-numeric or out-of-range ``lat``/``lon`` is
  skipped and counted in ``GpxFile.skipped_points``;
- an unreadable ``<ele>`` becomes None, and an unreadable ``<time>`` becomes
  None and is counted in ``GpxFile.invalid_times``;
- an empty ``<trkseg>`` or ``<trk>`` is kept as an empty tuple.

A file that is not XML, whose root is not ``<gpx>``, or that has no usable
track point raises GpxError with the file name. Times without a zone are read
as UTC, which the GPX schema requires them to be.

Some recorders write every point at the same bogus instant, such as
1901-12-13T20:45:52Z (the smallest signed 32-bit Unix time), and others write
no times at all. ``timing_problem`` detects such tracks and ``retime`` gives
them new times from a start instant and a speed.
"""

from __future__ import annotations

import itertools
import logging
import math
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loomlite._fixtures import fixture_path
from loomlite.components.enrich.geo import haversine_distance
from loomlite.errors import GpxError

__all__ = [
    "BUNDLED_TRACKS",
    "DRIVING_SPEED_MPS",
    "WALKING_SPEED_MPS",
    "GpxFile",
    "GpxPoint",
    "GpxSegment",
    "GpxTrack",
    "bundled_track_path",
    "parse_gpx",
    "read_gpx",
    "retime",
    "shift_times",
    "timed_points",
    "timing_problem",
]

logger = logging.getLogger(__name__)

# Typical speeds for re-timing, in metres per second: an adult's walking pace
# (5 km/h) and urban driving (50 km/h).
WALKING_SPEED_MPS = 1.4
DRIVING_SPEED_MPS = 13.9

# The GPX tracks shipped in fixtures/gpx (see fixtures/gpx/README.md).
BUNDLED_TRACKS = (
    "around-visnjan-with-car.gpx",
    "cerknicko-jezero.gpx",
    "Mojstrovka.gpx",
)


@dataclass(frozen=True, slots=True)
class GpxPoint:
    """One track point or waypoint: degrees, metres above sea level, UTC time."""

    latitude: float
    longitude: float
    elevation: float | None = None
    time: datetime | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class GpxSegment:
    """A ``<trkseg>``: points recorded without interruption, in file order."""

    points: tuple[GpxPoint, ...]


@dataclass(frozen=True, slots=True)
class GpxTrack:
    """A ``<trk>`` with its optional name and its segments."""

    name: str | None
    segments: tuple[GpxSegment, ...]

    def points(self) -> tuple[GpxPoint, ...]:
        """Return the points of every segment, in file order."""
        return tuple(point for segment in self.segments for point in segment.points)


@dataclass(frozen=True, slots=True)
class GpxFile:
    """The content of one GPX file.

    ``source`` is the path or name used in log lines and errors.
    ``skipped_points`` counts points dropped for invalid coordinates and
    ``invalid_times`` counts ``<time>`` values that could not be parsed.
    """

    source: str
    version: str | None
    creator: str | None
    tracks: tuple[GpxTrack, ...]
    waypoints: tuple[GpxPoint, ...]
    skipped_points: int = 0
    invalid_times: int = 0

    def track_points(self) -> tuple[GpxPoint, ...]:
        """Return the points of every track and segment, in file order."""
        return tuple(point for track in self.tracks for point in track.points())


# -- parsing ------------------------------------------------------------------


@dataclass(slots=True)
class _ParseCounts:
    skipped_points: int = 0
    invalid_times: int = 0


def read_gpx(path: str | Path) -> GpxFile:
    """Parse the GPX file at ``path``.

    Raises GpxError naming the file when it cannot be read, is not GPX, or has
    no usable track point.
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise GpxError(source, f"failed to read the file: {error}") from error
    return parse_gpx(data, source=source)


def parse_gpx(data: str | bytes, *, source: str = "<string>") -> GpxFile:
    """Parse GPX text; ``source`` names the input in log lines and errors.

    Raises GpxError when the text is not XML, its root is not ``<gpx>``, or it
    has no usable track point.
    """
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise GpxError(source, f"not well-formed XML ({error})") from error

    if _local_name(root.tag) != "gpx":
        raise GpxError(
            source,
            f"the root element is <{_local_name(root.tag)}>, expected <gpx>",
        )

    counts = _ParseCounts()
    tracks = tuple(_parse_track(element, counts) for element in _children(root, "trk"))
    waypoints = _parse_points(_children(root, "wpt"), counts)
    gpx = GpxFile(
        source=source,
        version=root.get("version"),
        creator=root.get("creator"),
        tracks=tracks,
        waypoints=waypoints,
        skipped_points=counts.skipped_points,
        invalid_times=counts.invalid_times,
    )
    _log_quirks(gpx)

    if not gpx.track_points():
        raise GpxError(source, _describe_missing_points(gpx))
    return gpx


def _parse_track(element: ElementTree.Element, counts: _ParseCounts) -> GpxTrack:
    segments = tuple(
        GpxSegment(_parse_points(_children(segment, "trkpt"), counts))
        for segment in _children(element, "trkseg")
    )
    return GpxTrack(name=_child_text(element, "name"), segments=segments)


def _parse_points(
    elements: Iterable[ElementTree.Element], counts: _ParseCounts
) -> tuple[GpxPoint, ...]:
    points = []
    for element in elements:
        point = _parse_point(element, counts)
        if point is None:
            counts.skipped_points += 1
        else:
            points.append(point)
    return tuple(points)


def _parse_point(element: ElementTree.Element, counts: _ParseCounts) -> GpxPoint | None:
    latitude = _parse_float(element.get("lat"))
    longitude = _parse_float(element.get("lon"))
    if latitude is None or longitude is None:
        return None
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None

    time_text = _child_text(element, "time")
    time = _parse_time(time_text)
    if time_text is not None and time is None:
        counts.invalid_times += 1

    return GpxPoint(
        latitude=latitude,
        longitude=longitude,
        elevation=_parse_float(_child_text(element, "ele")),
        time=time,
        name=_child_text(element, "name"),
    )


def _parse_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        # Python 3.11 reads "Z" and any number of fractional digits; some
        # recorders write seven (1901-12-13T20:45:52.2073437Z).
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> Iterable[ElementTree.Element]:
    return (child for child in element if _local_name(child.tag) == name)


def _child_text(element: ElementTree.Element, name: str) -> str | None:
    for child in _children(element, name):
        text = (child.text or "").strip()
        return text or None
    return None


def _describe_missing_points(gpx: GpxFile) -> str:
    reason = f"no usable track point in {len(gpx.tracks)} track(s)"
    if gpx.skipped_points:
        reason += (
            f", and {gpx.skipped_points} point(s) were skipped for a missing or "
            "invalid lat/lon"
        )
    return reason + ". Expected at least one <trkpt lat=... lon=...> inside a <trkseg>"


def _log_quirks(gpx: GpxFile) -> None:
    if gpx.skipped_points:
        logger.warning(
            "skipped %d point(s) with missing or invalid lat/lon in %s",
            gpx.skipped_points,
            gpx.source,
        )
    if gpx.invalid_times:
        logger.warning(
            "ignored %d unreadable <time> value(s) in %s",
            gpx.invalid_times,
            gpx.source,
        )


# -- times ----------------------------------------------------------------------


def timing_problem(points: Sequence[GpxPoint]) -> str | None:
    """Describe why the times of ``points`` cannot be played back, or return None.

    Times are usable when every point has one and they strictly increase.
    Otherwise the result is "missing", "constant" (every point at one
    instant) or "non-increasing".
    """
    times = [point.time for point in points]
    if any(time is None for time in times):
        return "missing"
    if len(set(times)) == 1 and len(times) > 1:
        return "constant"
    for earlier, later in itertools.pairwise(times):
        assert earlier is not None and later is not None
        if later <= earlier:
            return "non-increasing"
    return None


def retime(
    points: Sequence[GpxPoint], *, start: datetime, speed_mps: float
) -> tuple[GpxPoint, ...]:
    """Return ``points`` with new times for travel at a constant speed.

    The first point gets ``start``. Each later point gets the previous
    point's time plus the great-circle distance between the two divided by
    ``speed_mps``, so consecutive points at one position share an instant.
    Callers usually pass the scenario clock's ``now()`` as ``start``.

    The phone scenario re-times every walk this way, including a GPX file set
    with ``[simulators.phone] track`` in a profile, so a file whose points
    all carry one bogus 1901 instant, or no time, plays back like any other.
    """
    if not (math.isfinite(speed_mps) and speed_mps > 0):
        raise ValueError(
            f"speed_mps must be a positive number of metres per second, "
            f"got {speed_mps!r}; use WALKING_SPEED_MPS or DRIVING_SPEED_MPS"
        )
    start = _require_aware(start)

    retimed: list[GpxPoint] = []
    elapsed = 0.0
    for index, point in enumerate(points):
        if index > 0:
            previous = points[index - 1]
            elapsed += (
                haversine_distance(
                    previous.latitude,
                    previous.longitude,
                    point.latitude,
                    point.longitude,
                )
                / speed_mps
            )
        retimed.append(replace(point, time=start + timedelta(seconds=elapsed)))
    return tuple(retimed)


def shift_times(points: Sequence[GpxPoint], *, start: datetime) -> tuple[GpxPoint, ...]:
    """Return ``points`` moved in time so the first point is at ``start``.

    The intervals between points are kept. Every point must have a time.
    """
    start = _require_aware(start)
    if not points:
        return ()
    first = points[0].time
    if first is None or any(point.time is None for point in points):
        raise ValueError(
            "shift_times requires a time on every point; re-time the points with retime"
        )

    shifted = []
    for point in points:
        assert point.time is not None
        shifted.append(replace(point, time=start + (point.time - first)))
    return tuple(shifted)


def timed_points(
    gpx: GpxFile, *, start: datetime, speed_mps: float
) -> tuple[GpxPoint, ...]:
    """Return every track point of ``gpx`` with times that start at ``start``.

    Recorded times are kept (shifted to ``start``) when every point has one and
    they strictly increase, across segments and tracks. Otherwise the whole
    track is re-timed at ``speed_mps`` with ``retime``, and an INFO line names
    the file and the problem.
    """
    points = gpx.track_points()
    if not points:
        raise GpxError(gpx.source, _describe_missing_points(gpx))

    problem = timing_problem(points)
    if problem is None:
        return shift_times(points, start=start)

    logger.info(
        "re-timing %d point(s) of %s at %.1f m/s because their times are %s",
        len(points),
        gpx.source,
        speed_mps,
        problem,
    )
    return retime(points, start=start, speed_mps=speed_mps)


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"start must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)


# -- bundled files ------------------------------------------------------------------


def bundled_track_path(name: str) -> Path:
    """Return the path of a GPX file shipped with loomlite (see BUNDLED_TRACKS)."""
    if name not in BUNDLED_TRACKS:
        raise ValueError(
            f"unknown bundled track {name!r}; expected one of {list(BUNDLED_TRACKS)}"
        )
    return fixture_path("gpx", name)
