"""A seeded working day at a macOS desktop.

Each day starts at the simulator's start plus whole days. The machine is
awake for 20-35 minutes from 07:00-07:20, while the owner reads mail before
the morning walk, from 08:45-09:15 to 12:00-12:30 and from 13:00-13:30 to
17:30-18:30, and it sleeps the rest of the time. While awake the owner switches between
four apps, copies text now and then, and joins two calls whose audio comes
from the speech fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from simulators.ids import derive_rng
from simulators.media import Conversation
from simulators.routine import plan_conversation

__all__ = ["MACOS_APPS", "AppFocus", "ClipboardCopy", "DesktopDay", "plan_desktop_day"]

MACOS_APPS: dict[str, tuple[str, str]] = {
    "com.apple.mail": ("Mail", "desktop-email"),
    "com.apple.iCal": ("Calendar", "desktop-calendar"),
    "com.apple.Terminal": ("Terminal", "desktop-terminal"),
    "com.microsoft.VSCode": ("Code", "desktop-terminal"),
}
"""Bundle id, name and screenshot fixture of each app the owner works in."""

BACKGROUND_APPS: dict[str, str] = {
    "com.apple.finder": "Finder",
    "com.apple.Safari": "Safari",
    "com.tinyspeck.slackmacgap": "Slack",
}
"""Apps that run all day but never take the focus."""

_FOCUS_WEIGHTS = {
    "com.apple.mail": 3.0,
    "com.apple.iCal": 1.0,
    "com.apple.Terminal": 3.0,
    "com.microsoft.VSCode": 3.0,
}
_CLIPBOARD_TEXTS = (
    ("text", "loomlite up --profile demo"),
    ("url", "https://docs.python.org/3/library/asyncio-task.html"),
    ("text", "SELECT count(*) FROM device_sensor_gps_raw;"),
    ("text", "Thanks, I will look at it this afternoon."),
    ("url", "https://example.org/reports/weekly"),
    ("text", "pytest tests/unit -q"),
)


@dataclass(frozen=True, slots=True)
class AppFocus:
    """An app holding the keyboard focus from ``start`` to ``end``."""

    bundle_id: str
    start: datetime
    end: datetime

    @property
    def name(self) -> str:
        return MACOS_APPS[self.bundle_id][0]

    @property
    def screen_image(self) -> str:
        return MACOS_APPS[self.bundle_id][1]


@dataclass(frozen=True, slots=True)
class ClipboardCopy:
    """Text copied at ``at`` from the focused app."""

    at: datetime
    content_type: str
    text: str
    source_app: str


@dataclass(frozen=True, slots=True, eq=False)
class DesktopDay:
    """One working day: awake periods, app focus, copies and calls."""

    index: int
    start: datetime
    awake: tuple[tuple[datetime, datetime], ...]
    focus: tuple[AppFocus, ...]
    copies: tuple[ClipboardCopy, ...]
    calls: tuple[Conversation, ...]

    def is_awake(self, moment: datetime) -> bool:
        return any(start <= moment < end for start, end in self.awake)

    def focus_at(self, moment: datetime) -> AppFocus | None:
        for focus in self.focus:
            if focus.start <= moment < focus.end:
                return focus
        return None


def plan_desktop_day(day_start: datetime, index: int, seed: int) -> DesktopDay:
    """Plan day ``index`` of the desktop whose days start at ``day_start``."""
    random = derive_rng(seed, "desktop-day", index)
    breakfast_start = day_start + timedelta(hours=7) + _minutes(random.uniform(0, 20))
    breakfast = (
        breakfast_start,
        breakfast_start + _minutes(random.uniform(20, 35)),
    )
    morning = (
        day_start + timedelta(hours=8, minutes=45) + _minutes(random.uniform(0, 30)),
        day_start + timedelta(hours=12) + _minutes(random.uniform(0, 30)),
    )
    afternoon = (
        day_start + timedelta(hours=13) + _minutes(random.uniform(0, 30)),
        day_start + timedelta(hours=17, minutes=30) + _minutes(random.uniform(0, 60)),
    )
    awake = (breakfast, morning, afternoon)
    focus = [item for period in awake for item in _plan_focus(random, *period)]
    copies = _plan_copies(random, awake, focus)
    calls = (
        plan_conversation(
            random, "desk", morning[0] + _minutes(random.uniform(60, 150))
        ),
        plan_conversation(
            random, "desk", afternoon[0] + _minutes(random.uniform(60, 180))
        ),
    )
    return DesktopDay(index, day_start, awake, tuple(focus), tuple(copies), calls)


def _plan_focus(
    random: np.random.Generator, start: datetime, end: datetime
) -> list[AppFocus]:
    """Switch apps after exponential stays of mean 4 minutes, at least 20 s."""
    bundles = list(_FOCUS_WEIGHTS)
    weights = np.array([_FOCUS_WEIGHTS[bundle] for bundle in bundles])
    focus: list[AppFocus] = []
    moment = start
    previous = None
    while moment < end:
        choices = [b for b in bundles if b != previous]
        chosen = np.array([weights[bundles.index(b)] for b in choices])
        bundle = str(random.choice(choices, p=chosen / chosen.sum()))
        stay = timedelta(seconds=max(20.0, float(random.exponential(240.0))))
        finish = min(moment + stay, end)
        focus.append(AppFocus(bundle, moment, finish))
        moment = finish
        previous = bundle
    return focus


def _plan_copies(
    random: np.random.Generator,
    awake: tuple[tuple[datetime, datetime], ...],
    focus: list[AppFocus],
) -> list[ClipboardCopy]:
    """Copy text about every 15 minutes while awake.

    The first copy of each awake period comes within its first 5 minutes, so
    even a short period has one.
    """
    copies = []
    for start, end in awake:
        moment = start + _minutes(random.uniform(0.5, 5.0))
        while moment < end:
            content_type, text = _CLIPBOARD_TEXTS[
                int(random.integers(len(_CLIPBOARD_TEXTS)))
            ]
            app = next(f.name for f in focus if f.start <= moment < f.end)
            copies.append(ClipboardCopy(moment, content_type, text, app))
            moment += _minutes(random.exponential(15.0))
    return copies


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=float(value))
