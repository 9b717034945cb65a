"""Ground truth: what really happened during a simulation.

A simulator writes here what its payloads are evidence of: the steps the
person took, the regions they were in, the words spoken into the microphone,
the text on each screenshot and the items an account received. Tests and
``loomlite up`` summaries compare the pipeline's output with it. All times
are aware UTC datetimes in event time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "GroundTruth",
    "ItemTruth",
    "PlaceVisit",
    "ScreenshotTruth",
    "UtteranceTruth",
]

ItemKind = Literal["email", "calendar_event", "like"]


@dataclass(slots=True)
class PlaceVisit:
    """A stay inside a geofence region; ``exit`` is None while still inside."""

    region: str
    enter: datetime
    exit: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "enter": _iso(self.enter),
            "exit": None if self.exit is None else _iso(self.exit),
        }


@dataclass(slots=True)
class UtteranceTruth:
    """A sentence spoken while the microphone recorded.

    ``start`` and ``end`` (end excluded) are event time. ``recording`` names
    the speech fixture it comes from. ``chunk_message_ids`` lists the audio
    chunks that contain part of it, in time order.
    """

    text: str
    start: datetime
    end: datetime
    recording: str
    chunk_message_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "recording": self.recording,
            "chunk_message_ids": list(self.chunk_message_ids),
        }


@dataclass(frozen=True, slots=True)
class ScreenshotTruth:
    """A screenshot that was sent: its message id, time, image and text."""

    message_id: str
    recorded_at: datetime
    image: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "recorded_at": _iso(self.recorded_at),
            "image": self.image,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class ItemTruth:
    """An email, calendar event or liked post that appeared in an account.

    ``created_at`` is when the item appeared (the email arrived, the event was
    added, the post was liked); ``item_id`` is the account's own id for it
    (Message-ID, UID, tweet id or story id).
    """

    kind: ItemKind
    item_id: str
    created_at: datetime
    title: str
    content_hash: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "item_id": self.item_id,
            "created_at": _iso(self.created_at),
            "title": self.title,
            "content_hash": self.content_hash,
            "source": self.source,
        }


class GroundTruth:
    """The record of one simulator's run."""

    def __init__(self, simulator: str, device_id: str) -> None:
        self.simulator = simulator
        self.device_id = device_id
        self.steps_per_minute: Counter[datetime] = Counter()
        self.places: list[PlaceVisit] = []
        self.utterances: list[UtteranceTruth] = []
        self.screenshots: list[ScreenshotTruth] = []
        self.items: list[ItemTruth] = []

    # -- steps --------------------------------------------------------------------

    def add_steps(self, step_times: Iterable[datetime]) -> None:
        """Count each step in the minute (UTC, from second 0) it was taken."""
        for moment in step_times:
            minute = moment.astimezone(UTC).replace(second=0, microsecond=0)
            self.steps_per_minute[minute] += 1

    @property
    def total_steps(self) -> int:
        """The number of steps taken during the run."""
        return sum(self.steps_per_minute.values())

    # -- places -------------------------------------------------------------------

    def enter_place(self, region: str, at: datetime) -> None:
        """Record entering ``region`` at ``at``.

        An entry at the instant of the last exit from the same region (a stay
        that runs across two simulated days) continues that visit.
        """
        for visit in reversed(self.places):
            if visit.region == region:
                if visit.exit == at:
                    visit.exit = None
                    return
                break
        self.places.append(PlaceVisit(region, at))

    def exit_place(self, region: str, at: datetime) -> None:
        """Record leaving ``region`` at ``at``; raises ValueError if not inside."""
        for visit in reversed(self.places):
            if visit.region == region and visit.exit is None:
                visit.exit = at
                return
        raise ValueError(
            f"cannot exit region {region!r} at {_iso(at)}: no open visit; "
            "record enter_place first"
        )

    # -- items and media ----------------------------------------------------------

    def add_utterance(self, utterance: UtteranceTruth) -> None:
        self.utterances.append(utterance)

    def add_screenshot(self, screenshot: ScreenshotTruth) -> None:
        self.screenshots.append(screenshot)

    def add_item(self, item: ItemTruth) -> None:
        self.items.append(item)

    def items_of(self, kind: ItemKind) -> list[ItemTruth]:
        """Return the recorded items of one kind, in the order they appeared."""
        return [item for item in self.items if item.kind == kind]

    @property
    def emails(self) -> list[ItemTruth]:
        return self.items_of("email")

    @property
    def calendar_events(self) -> list[ItemTruth]:
        return self.items_of("calendar_event")

    @property
    def likes(self) -> list[ItemTruth]:
        return self.items_of("like")

    # -- export -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the truth as JSON-compatible values (times as ISO 8601 text)."""
        return {
            "simulator": self.simulator,
            "device_id": self.device_id,
            "steps": {
                "total": self.total_steps,
                "per_minute": {
                    _iso(minute): count
                    for minute, count in sorted(self.steps_per_minute.items())
                },
            },
            "places": [visit.to_dict() for visit in self.places],
            "utterances": [utterance.to_dict() for utterance in self.utterances],
            "screenshots": [shot.to_dict() for shot in self.screenshots],
            "emails": [item.to_dict() for item in self.emails],
            "calendar_events": [item.to_dict() for item in self.calendar_events],
            "likes": [item.to_dict() for item in self.likes],
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
