"""A CalDAV calendar and production's calendar fetcher.

Each fetch returns every event whose start lies between ``days_past`` days
before and ``days_future`` days after the fetch. Messages have the CalDAV
path's nested shape: ``data{}`` contains ``event_id`` (calendar URL, '_' and
UID), ``summary``, ``start_time``/``end_time`` as ``str(datetime)``,
``organizer``, ``uid``, ``gps_point`` and the account fields. The top-level
``timestamp`` is the event's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from loomlite.contract.hashing import calendar_content_hash
from simulators.fetchers.account import Account, FetchedMessage, Item
from simulators.payloads import aware_iso, python_str
from simulators.truth import ItemTruth

__all__ = ["CalendarAccount", "CalendarEntry"]

TOPIC = "external.calendar.events.raw"

# Title, description and location (with coordinates when geocodable).
_EVENTS = (
    ("Team sync", "Weekly status of the ingestion work.", "Video call", None),
    ("Dentist", "Check-up.", "Poreč", (45.2272, 13.5946)),
    ("Lunch with Ana", "", "Višnjan", (45.2756, 13.7202)),
    ("Hike", "Meet at the pass.", "Vršič Pass", (46.4347, 13.7470)),
    ("Design review", "Topic catalog and the sink schema.", "Office", None),
    ("Call with the bank", "", "Phone", None),
)
_ORGANIZERS = ("owner@example.com", "ana.novak@example.com", "team@project.example.org")


@dataclass(frozen=True, slots=True)
class CalendarEntry(Item):
    """An event added to the calendar at ``created_at``."""

    uid: str
    title: str
    description: str
    location: str
    coordinates: tuple[float, float] | None
    start_time: datetime
    end_time: datetime
    organizer: str


class CalendarAccount(Account[CalendarEntry]):
    """A calendar that gains about ``rate_per_hour`` events an hour."""

    def __init__(
        self,
        *,
        seed: int = 0,
        calendar_name: str = "Work",
        account_name: str = "Owner",
        username: str = "owner@example.com",
        calendar_index: int = 1,
        interval: timedelta = timedelta(minutes=30),
        days_past: int = 30,
        days_future: int = 365,
        rate_per_hour: float = 0.25,
        history: timedelta = timedelta(days=14),
        start: datetime | None = None,
    ) -> None:
        slug = calendar_name.lower().replace(" ", "-")
        super().__init__(
            seed=seed,
            name=f"calendar-{slug}",
            device_id=f"calendar-fetcher-{slug}",
            interval=interval,
            history=history,
            start=start,
        )
        self.calendar_name = calendar_name
        self.account_name = account_name
        self.username = username
        self.calendar_index = calendar_index
        self.calendar_url = f"https://caldav.example.com/calendars/{slug}/"
        self.window = (timedelta(days=days_past), timedelta(days=days_future))
        self.rate_per_hour = rate_per_hour

    def make_item(
        self, random: np.random.Generator, created_at: datetime, number: int
    ) -> CalendarEntry:
        title, description, location, coordinates = _EVENTS[
            int(random.integers(len(_EVENTS)))
        ]
        # Events start 2 hours to 14 days after they are added, on a quarter hour.
        lead = timedelta(hours=float(random.uniform(2.0, 14 * 24.0)))
        start_time = created_at + lead
        start_time = start_time.replace(
            minute=start_time.minute // 15 * 15, second=0, microsecond=0
        )
        duration = timedelta(minutes=30 * int(random.integers(1, 4)))
        return CalendarEntry(
            created_at=created_at,
            number=number,
            uid=f"{random.bytes(12).hex()}@calendar.example.com",
            title=title,
            description=description,
            location=location,
            coordinates=coordinates,
            start_time=start_time,
            end_time=start_time + duration,
            organizer=_ORGANIZERS[int(random.integers(len(_ORGANIZERS)))],
        )

    def publish(
        self, items: Sequence[CalendarEntry], now: datetime
    ) -> list[FetchedMessage]:
        past, future = self.window
        visible = [
            entry for entry in items if now - past <= entry.start_time <= now + future
        ]
        return [self._message(entry) for entry in visible]

    def describe(self, item: CalendarEntry) -> ItemTruth:
        return ItemTruth(
            "calendar_event",
            item.uid,
            item.created_at,
            item.title,
            self._hash(item),
            self.calendar_name,
        )

    def _hash(self, entry: CalendarEntry) -> str:
        return calendar_content_hash(
            uid=entry.uid,
            start_time=entry.start_time,
            end_time=entry.end_time,
            title=entry.title,
            location=entry.location,
            organizer=entry.organizer,
        )

    def _message(self, entry: CalendarEntry) -> FetchedMessage:
        event_id = f"{self.calendar_url}_{entry.uid}"
        gps_point = None
        if entry.coordinates is not None:
            latitude, longitude = entry.coordinates
            gps_point = f"POINT({longitude} {latitude})"
        payload = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "timestamp": aware_iso(entry.start_time),
            "data": {
                "event_id": event_id,
                "source_calendar": f"{self.account_name} - {self.calendar_name}",
                "summary": entry.title,
                "description": entry.description,
                "location": entry.location,
                "start_time": python_str(entry.start_time),
                "end_time": python_str(entry.end_time),
                "gps_point": gps_point,
                "source_account": self.username,
                "account_name": self.account_name,
                "organizer": entry.organizer,
                "uid": entry.uid,
                "content_hash": self._hash(entry),
                "calendar_index": self.calendar_index,
                "calendar_name": self.calendar_name,
            },
        }
        return FetchedMessage(TOPIC, event_id, payload)
