"""The phone owner's habits over one day: screen use, notifications, conversations.

Every function draws from the generator it is given, in a fixed order, so a
day's routine is a pure function of the scenario seed and the day's plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from simulators.media import SPEECH_RECORDINGS, Conversation, PlacedRecording

__all__ = [
    "ANDROID_APPS",
    "AppUse",
    "Notification",
    "ScreenSession",
    "plan_conversation",
    "plan_notifications",
    "plan_screen_sessions",
]

ANDROID_APPS: dict[str, str] = {
    "org.telegram.messenger": "Telegram",
    "com.android.chrome": "Chrome",
    "com.google.android.gm": "Gmail",
    "com.google.android.apps.maps": "Maps",
    "com.spotify.music": "Spotify",
    "com.google.android.calendar": "Calendar",
    "com.android.settings": "Settings",
    "com.android.camera2": "Camera",
}
"""Package name and label of every app the simulated owner uses."""

# Apps the owner opens in each context, with relative weights.
_APP_WEIGHTS: dict[str, dict[str, float]] = {
    "home": {
        "org.telegram.messenger": 4,
        "com.android.chrome": 3,
        "com.spotify.music": 2,
        "com.google.android.gm": 1,
        "com.android.settings": 0.5,
    },
    "outdoors": {
        "com.google.android.apps.maps": 3,
        "com.android.camera2": 3,
        "org.telegram.messenger": 2,
    },
    "work": {
        "com.google.android.gm": 3,
        "com.google.android.calendar": 2,
        "org.telegram.messenger": 2,
        "com.android.chrome": 2,
    },
}

_NOTIFYING_APPS = {
    "org.telegram.messenger": 0.6,
    "com.google.android.gm": 0.3,
    "com.google.android.calendar": 0.1,
}
_NOTIFICATION_TEXTS = {
    "org.telegram.messenger": [
        ("Ana", "Are you coming to dinner tonight?"),
        ("Marko", "Sent you the photos from the hike."),
        ("Family", "Grandma says hello!"),
        ("Team", "Standup moved to 10:30."),
    ],
    "com.google.android.gm": [
        ("Invoice 2024-117", "Your invoice is ready to download."),
        ("Weekly report", "Here are the numbers for last week."),
        ("Re: sensor logs", "Thanks, the import worked."),
    ],
    "com.google.android.calendar": [
        ("Dentist", "Tomorrow at 09:00"),
        ("Team sync", "In 15 minutes"),
    ],
}


@dataclass(frozen=True, slots=True)
class AppUse:
    """An app in the foreground from ``start`` to ``end``."""

    package: str
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return ANDROID_APPS[self.package]


@dataclass(frozen=True, slots=True)
class ScreenSession:
    """The screen is on and unlocked from ``start`` to ``end``."""

    start: datetime
    end: datetime
    apps: tuple[AppUse, ...]


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification posted at ``posted`` and dismissed at ``removed``."""

    key: str
    package: str
    title: str
    body: str
    posted: datetime
    removed: datetime


ContextAt = Callable[[datetime], str]


def plan_screen_sessions(
    random: np.random.Generator,
    wake: datetime,
    evening: datetime,
    bedtime: datetime,
    busy: Sequence[tuple[datetime, datetime]],
    context_at: ContextAt,
) -> list[ScreenSession]:
    """Plan when the screen is on between ``wake`` and ``bedtime``.

    No session overlaps a ``busy`` interval (driving). Gaps between sessions
    are exponential with a mean of 35 minutes, at least 3 minutes; sessions
    last 1 to 10 minutes, and 3 to 20 minutes from ``evening`` on.
    ``context_at`` returns "home", "outdoors" or "work" and picks the apps.
    """
    sessions: list[ScreenSession] = []
    moment = wake + _minutes(random.uniform(0.0, 2.0))
    while moment < bedtime:
        longest = 20.0 if moment >= evening else 10.0
        shortest = 3.0 if moment >= evening else 1.0
        end = min(moment + _minutes(random.uniform(shortest, longest)), bedtime)
        blocking = _first_overlap(busy, moment, end)
        if blocking is not None:
            moment = blocking[1] + _minutes(random.uniform(1.0, 5.0))
            continue
        apps = _plan_app_uses(random, moment, end, context_at(moment))
        sessions.append(ScreenSession(moment, end, apps))
        gap = max(3.0, random.exponential(35.0))
        moment = end + _minutes(gap)
    return sessions


def _plan_app_uses(
    random: np.random.Generator, start: datetime, end: datetime, context: str
) -> tuple[AppUse, ...]:
    weights = _APP_WEIGHTS[context]
    packages = list(weights)
    probabilities = np.array([weights[name] for name in packages], dtype=float)
    probabilities /= probabilities.sum()
    count = int(random.integers(1, 4))
    shares = random.dirichlet(np.ones(count))
    uses = []
    moment = start
    previous = None
    for index, share in enumerate(shares):
        package = str(random.choice(packages, p=probabilities))
        if package == previous:
            continue
        finish = end if index == count - 1 else moment + (end - start) * float(share)
        uses.append(AppUse(package, moment, finish))
        moment = finish
        previous = package
    if uses and uses[-1].end != end:
        last = uses[-1]
        uses[-1] = AppUse(last.package, last.start, end)
    return tuple(uses)


def plan_notifications(
    random: np.random.Generator, wake: datetime, bedtime: datetime, day_index: int
) -> list[Notification]:
    """Plan notifications: about one every 40 minutes between wake and bedtime.

    Each is dismissed 1 to 45 minutes after it is posted.
    """
    packages = list(_NOTIFYING_APPS)
    probabilities = np.array([_NOTIFYING_APPS[name] for name in packages])
    notifications = []
    moment = wake + _minutes(random.exponential(40.0))
    number = 0
    while moment < bedtime:
        package = str(random.choice(packages, p=probabilities))
        texts = _NOTIFICATION_TEXTS[package]
        title, body = texts[int(random.integers(len(texts)))]
        number += 1
        # The key has the shape of Android's StatusBarNotification.getKey():
        # user id, package, notification id, tag and uid, joined by '|'.
        key = f"0|{package}|{day_index * 1000 + number}|null|10{number % 90 + 10}"
        removed = moment + _minutes(random.uniform(1.0, 45.0))
        notifications.append(Notification(key, package, title, body, moment, removed))
        moment += _minutes(random.exponential(40.0))
    return notifications


def plan_conversation(
    random: np.random.Generator, place: str, start: datetime
) -> Conversation:
    """Plan a conversation at ``place`` from ``start``: two or three recordings.

    It opens with 4 to 9 s of quiet, leaves 6 to 14 s between recordings and
    ends with 4 to 9 s of quiet, so that some audio chunks hold no speech.
    Times are whole milliseconds.
    """
    count = int(random.integers(2, 4))
    names = [str(name) for name in random.permutation(SPEECH_RECORDINGS)[:count]]
    moment = start + _milliseconds(random.uniform(4.0, 9.0))
    placed = []
    for index, name in enumerate(names):
        if index > 0:
            moment += _milliseconds(random.uniform(6.0, 14.0))
        recording = PlacedRecording(name, moment)
        placed.append(recording)
        moment = recording.end
    end = moment + _milliseconds(random.uniform(4.0, 9.0))
    return Conversation(place, start, end, tuple(placed))


def _first_overlap(
    intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    for interval in intervals:
        if interval[0] < end and interval[1] > start:
            return interval
    return None


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=float(value))


def _milliseconds(seconds: float) -> timedelta:
    return timedelta(milliseconds=round(float(seconds) * 1000))
