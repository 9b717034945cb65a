"""Scores of the pipeline's output against the simulators' ground truth.

Two scores exist: derived steps against the steps the gait generator really
took, and geofence entries against the region visits the phone really made.
Both read the rows the pipeline stored, so they score the whole path from the
simulated sensor to the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "RegionEntry",
    "StepScore",
    "VisitScore",
    "score_steps",
    "score_visits",
]


@dataclass(frozen=True, slots=True)
class StepScore:
    """Steps derived from the accelerometer against the steps really taken."""

    device_id: str
    truth: int
    derived: int

    @property
    def error(self) -> float:
        """Relative error of the derived count; 0.0 when both are zero."""
        if self.truth == 0:
            return 0.0 if self.derived == 0 else 1.0
        return abs(self.derived - self.truth) / self.truth

    def within(self, tolerance: float) -> bool:
        return self.error <= tolerance

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "truth": self.truth,
            "derived": self.derived,
            "error": round(self.error, 4),
        }


@dataclass(frozen=True, slots=True)
class RegionEntry:
    """One region entry: from the ground truth or from an 'enter' event row."""

    region: str
    at: datetime


@dataclass(frozen=True, slots=True)
class VisitScore:
    """Geofence entries the pipeline reported against the visits made.

    ``matched`` counts true entries paired with a reported entry of the same
    region within the tolerance, each reported entry used at most once.
    ``missed`` lists true entries without a partner, and ``spurious`` lists
    reported entries without one.
    """

    device_id: str
    expected: int
    matched: int
    missed: tuple[RegionEntry, ...]
    spurious: tuple[RegionEntry, ...]

    @property
    def exact(self) -> bool:
        return not self.missed and not self.spurious

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "expected": self.expected,
            "matched": self.matched,
            "missed": [_entry_dict(entry) for entry in self.missed],
            "spurious": [_entry_dict(entry) for entry in self.spurious],
        }


def _entry_dict(entry: RegionEntry) -> dict[str, str]:
    return {"region": entry.region, "at": entry.at.isoformat()}


def score_steps(device_id: str, truth: int, derived_counts: Iterable[int]) -> StepScore:
    """Compare the ground-truth step total with the sum of derived windows."""
    return StepScore(device_id, truth, sum(derived_counts))


def score_visits(
    device_id: str,
    truth: Sequence[RegionEntry],
    reported: Sequence[RegionEntry],
    *,
    tolerance: timedelta = timedelta(minutes=3),
) -> VisitScore:
    """Match reported region entries to true ones, greedily in time order.

    ``tolerance`` allows for the GPS fix interval and the geofence's minimum
    dwell, which delay a reported entry behind the true crossing.
    """
    unmatched = sorted(reported, key=lambda entry: entry.at)
    missed: list[RegionEntry] = []
    matched = 0
    for entry in sorted(truth, key=lambda entry: entry.at):
        partner = next(
            (
                candidate
                for candidate in unmatched
                if candidate.region == entry.region
                and abs(candidate.at - entry.at) <= tolerance
            ),
            None,
        )
        if partner is None:
            missed.append(entry)
        else:
            unmatched.remove(partner)
            matched += 1
    return VisitScore(
        device_id=device_id,
        expected=len(truth),
        matched=matched,
        missed=tuple(missed),
        spurious=tuple(unmatched),
    )
