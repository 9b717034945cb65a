"""Messages of real catalog topics whose text tries to break out of SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loomlite.contract import Envelope
from loomlite.contract.models import CalendarEvent, EmailEvent, GPSReading, NoteData

HOSTILE_TEXTS = (
    "'; DROP TABLE x; --",
    '" OR 1=1 --',
    "Robert'); DROP TABLE students;--",
    "C:\\Users\\loom\\ back\\\\slash \\' \\\"",
    "?, ?); DELETE FROM device_sensor_gps_raw; -- %s %(name)s {0}",
    "ünïcödé 🚀 \u202e עברית \u4e2d\u6587 \t tab \n newline",
)
"""Quotes, comments, placeholders, backslashes and non-ASCII, but no NUL:
SQLite text and Postgres text both reject or truncate NUL."""

T0 = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def hostile_messages() -> dict[str, list[Envelope]]:
    """Return, per topic, one message for each hostile text."""
    messages: dict[str, list[Envelope]] = {
        "device.sensor.gps.raw": [],
        "external.email.events.raw": [],
        "external.calendar.events.raw": [],
        "digital.notes.raw": [],
    }
    for index, text in enumerate(HOSTILE_TEXTS):
        at = T0 + timedelta(minutes=index)
        messages["device.sensor.gps.raw"].append(
            GPSReading(
                device_id=text,
                recorded_at=at,
                received_at=at,
                latitude=52.5,
                longitude=13.4,
                provider=text,
            )
        )
        messages["external.email.events.raw"].append(
            EmailEvent(
                device_id=text,
                recorded_at=at,
                received_at=at,
                message_id_external=text,
                subject=text,
                sender=text,
                recipients=[text],
                body=text,
                labels=[text],
            )
        )
        messages["external.calendar.events.raw"].append(
            CalendarEvent(
                device_id=text,
                recorded_at=at,
                received_at=at,
                event_id=text,
                title=text,
                location=text,
                start_time=at,
                attendees=[text],
            )
        )
        messages["digital.notes.raw"].append(
            NoteData(
                device_id=text,
                recorded_at=at,
                received_at=at,
                content=text,
                title=text,
                tags=[text],
            )
        )
    return messages


TEXT_COLUMNS = {
    "device.sensor.gps.raw": ("device_id", "provider"),
    "external.email.events.raw": (
        "device_id",
        "message_id_external",
        "subject",
        "sender",
        "body",
    ),
    "external.calendar.events.raw": ("device_id", "event_id", "title", "location"),
    "digital.notes.raw": ("device_id", "content", "title"),
}
"""The string columns that each hostile message fills with its text."""

LIST_COLUMNS = {
    "external.email.events.raw": ("recipients", "labels"),
    "external.calendar.events.raw": ("attendees",),
    "digital.notes.raw": ("tags",),
}
"""The JSON list columns that each hostile message fills with a one-item list."""
