"""The phone's system and app sources: screen and lock events, app lifecycle
events, running-app snapshots with usage statistics, and notifications.

Screen and app events come from the scenario's screen sessions. Like the
mobile app's event sources, they carry the event time in ``timestamp``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from simulators.base import DayEvents, EventSource, Message, PeriodicSource
from simulators.context import DeviceContext
from simulators.ids import derive_rng
from simulators.payloads import epoch_milliseconds, epoch_seconds, naive_iso
from simulators.routine import ANDROID_APPS, AppUse, Notification, ScreenSession
from simulators.scenario import PhoneScenario

__all__ = [
    "AppEventsSource",
    "AppMonitoringSource",
    "NotificationSource",
    "ScreenEventsSource",
]

ScreenChange = Literal["session_start", "session_end", "unplugged", "plugged"]

_SCREEN_EVENTS: dict[ScreenChange, tuple[tuple[str, str, str], ...]] = {
    "session_start": (
        ("screen_on", "screen", "Screen turned on"),
        ("device_unlock", "lock", "Device unlocked"),
    ),
    "session_end": (
        ("screen_off", "screen", "Screen turned off"),
        ("device_lock", "lock", "Device locked"),
    ),
    "unplugged": (("power_disconnected", "power", "Charger disconnected"),),
    "plugged": (("power_connected", "power", "Charger connected"),),
}

# Made-up version codes and names that the monitoring source reports.
_APP_VERSIONS = {
    "org.telegram.messenger": (47213, "10.14.5"),
    "com.android.chrome": (636718833, "126.0.6478.122"),
    "com.google.android.gm": (64877843, "2024.06.09.644302588"),
    "com.google.android.apps.maps": (1062101048, "11.133.0102"),
    "com.spotify.music": (111012334, "8.9.48.445"),
    "com.google.android.calendar": (2024241632, "2024.24.1-643285637"),
    "com.android.settings": (34, "14"),
    "com.android.camera2": (34, "14"),
}
_SYSTEM_APPS = {"com.android.settings", "com.android.camera2"}
_NOTIFICATION_CATEGORIES = {
    "org.telegram.messenger": "msg",
    "com.google.android.gm": "email",
    "com.google.android.calendar": "reminder",
}


class ScreenEventsSource(EventSource[ScreenChange]):
    """Screen on/off, lock/unlock and charger events."""

    def __init__(
        self, context: DeviceContext, scenario: PhoneScenario, start: datetime
    ) -> None:
        events = DayEvents(
            lambda index: _screen_changes(scenario, index),
            first_day=scenario.day_index(start),
            after=start,
        )
        super().__init__("screen_events", events)
        self._payloads = context.payloads("screen_events")
        self._screen_on = scenario.day_at(start).screen_session_at(start) is not None
        self._last_change: dict[str, datetime] = {}

    def handle(self, moment: datetime, item: ScreenChange) -> Iterable[Message]:
        if item == "session_start":
            self._screen_on = True
            self._last_change["last_screen_on"] = moment
        elif item == "session_end":
            self._screen_on = False
            self._last_change["last_screen_off"] = moment
        metadata: dict[str, Any] = {
            "is_screen_on": self._screen_on,
            "is_device_locked": not self._screen_on,
        }
        for key, value in self._last_change.items():
            metadata[key] = epoch_milliseconds(value)
        messages = []
        for event_type, category, description in _SCREEN_EVENTS[item]:
            fields = {
                "event_type": event_type,
                "event_category": category,
                "severity": "info",
                "description": description,
                "metadata": dict(metadata),
            }
            payload = self._payloads.event(moment, fields)
            messages.append(Message("os.events.system.raw", payload))
        return messages


def _screen_changes(
    scenario: PhoneScenario, index: int
) -> list[tuple[datetime, ScreenChange]]:
    day = scenario.day(index)
    changes: list[tuple[datetime, ScreenChange]] = [
        (day.wake, "unplugged"),
        (day.bedtime, "plugged"),
    ]
    for session in day.screen_sessions:
        changes.append((session.start, "session_start"))
        changes.append((session.end, "session_end"))
    return changes


@dataclass(frozen=True, slots=True)
class _AppChange:
    use: AppUse
    event_type: Literal["foreground", "background"]


class AppEventsSource(EventSource[_AppChange]):
    """Apps moving to the foreground and the background."""

    def __init__(
        self, context: DeviceContext, scenario: PhoneScenario, start: datetime
    ) -> None:
        events = DayEvents(
            lambda index: _app_changes(scenario.day(index).screen_sessions),
            first_day=scenario.day_index(start),
            after=start,
        )
        super().__init__("app_events", events)
        self._payloads = context.payloads("app_events")

    def handle(self, moment: datetime, item: _AppChange) -> Iterable[Message]:
        fields: dict[str, Any] = {
            "app_identifier": item.use.package,
            "app_name": item.use.label,
            "event_type": item.event_type,
        }
        if item.event_type == "background":
            fields["duration_seconds"] = round(
                (item.use.end - item.use.start).total_seconds()
            )
        fields["metadata"] = {
            "is_self": False,
            "current_foreground_app": (
                item.use.package if item.event_type == "foreground" else None
            ),
        }
        payload = self._payloads.event(moment, fields)
        return [Message("os.events.app_lifecycle.raw", payload)]


def _app_changes(
    sessions: Iterable[ScreenSession],
) -> list[tuple[datetime, _AppChange]]:
    changes = []
    for session in sessions:
        for use in session.apps:
            changes.append((use.start, _AppChange(use, "foreground")))
            changes.append((use.end, _AppChange(use, "background")))
    # At a switch the old app goes to the background before the new one
    # comes to the foreground.
    changes.sort(key=lambda change: (change[0], change[1].event_type == "foreground"))
    return changes


class AppMonitoringSource(PeriodicSource):
    """Running apps and the last hour's usage statistics every ``interval``.

    The first snapshot is preceded by one ``android_app_info`` metadata
    message per app, as the app sent when it first saw each package.
    """

    def __init__(
        self,
        context: DeviceContext,
        scenario: PhoneScenario,
        interval: timedelta,
        start: datetime,
        usage_window: timedelta = timedelta(minutes=60),
    ) -> None:
        super().__init__("app_monitoring", start, interval)
        self._context = context
        self._scenario = scenario
        self._usage_window = usage_window
        self._payloads = context.payloads("app_monitoring")
        self._described = False

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        messages = []
        if not self._described:
            messages += self._app_info(now)
            self._described = True
        messages.append(self._running_apps(now))
        messages.append(self._usage(now))
        return messages

    def _app_info(self, now: datetime) -> list[Message]:
        messages = []
        installed = now - timedelta(days=90)
        for package, label in ANDROID_APPS.items():
            version_code, version_name = _APP_VERSIONS[package]
            metadata = {
                "package_name": package,
                "app_name": label,
                "version_name": version_name,
                "version_code": version_code,
                "install_time": epoch_milliseconds(installed),
                "update_time": epoch_milliseconds(now - timedelta(days=9)),
                "permissions": [],
                "is_system_app": package in _SYSTEM_APPS,
            }
            fields = {"metadata_type": "android_app_info", "metadata": metadata}
            payload = self._payloads.flat(now, fields)
            messages.append(Message("device.metadata.raw", payload))
        return messages

    def _running_apps(self, now: datetime) -> Message:
        day = self._scenario.day_at(now)
        foreground = day.app_at(now)
        applications = []
        for package, label in ANDROID_APPS.items():
            version_code, version_name = _APP_VERSIONS[package]
            random = derive_rng(
                self._context.seed, self._context.device_id, "pid", day.index, package
            )
            active = foreground is not None and foreground.package == package
            applications.append(
                {
                    "pid": int(random.integers(1000, 32000)),
                    "name": label,
                    "package_name": package,
                    "active": active,
                    "hidden": not active,
                    "launch_date": epoch_seconds(
                        day.wake + timedelta(seconds=float(random.uniform(0, 600)))
                    ),
                    "version_code": version_code,
                    "version_name": version_name,
                }
            )
        fields = {"running_applications": applications}
        payload = self._payloads.event(now, fields)
        return Message("device.system.apps.android.raw", payload)

    def _usage(self, now: datetime) -> Message:
        window_start = now - self._usage_window
        sessions = self._sessions_between(window_start, now)
        per_app: dict[str, dict[str, Any]] = {}
        screen_time = timedelta(0)
        unlocks = 0
        for session in sessions:
            screen_time += _overlap(session.start, session.end, window_start, now)
            unlocks += window_start <= session.start < now
            for use in session.apps:
                _add_use(per_app, use, window_start, now)
        fields = {
            "aggregation_period_start": naive_iso(window_start),
            "aggregation_period_end": naive_iso(now),
            "aggregation_interval_minutes": round(
                self._usage_window.total_seconds() / 60
            ),
            "total_screen_time_ms": round(screen_time.total_seconds() * 1000),
            "total_unlocks": unlocks,
            "app_usage_stats": list(per_app.values()),
        }
        payload = self._payloads.flat(now, fields)
        return Message("device.app_usage.android.aggregated", payload)

    def _sessions_between(self, start: datetime, end: datetime) -> list[ScreenSession]:
        indices = range(
            self._scenario.day_index(start), self._scenario.day_index(end) + 1
        )
        return [
            session
            for index in indices
            for session in self._scenario.day(index).screen_sessions
            if session.start < end and session.end > start
        ]


def _overlap(
    start: datetime, end: datetime, low: datetime, high: datetime
) -> timedelta:
    return max(timedelta(0), min(end, high) - max(start, low))


def _add_use(
    per_app: dict[str, dict[str, Any]], use: AppUse, low: datetime, high: datetime
) -> None:
    spent = _overlap(use.start, use.end, low, high)
    if spent <= timedelta(0):
        return
    stats = per_app.setdefault(
        use.package,
        {
            "package_name": use.package,
            "app_name": use.label,
            "total_time_foreground_ms": 0,
            "last_time_used": None,
            "launch_count": 0,
        },
    )
    stats["total_time_foreground_ms"] += round(spent.total_seconds() * 1000)
    stats["last_time_used"] = naive_iso(min(use.end, high))
    stats["launch_count"] += low <= use.start < high


class NotificationSource(EventSource[tuple[Notification, str]]):
    """Notifications as they are posted and removed."""

    def __init__(
        self, context: DeviceContext, scenario: PhoneScenario, start: datetime
    ) -> None:
        events = DayEvents(
            lambda index: _notification_changes(scenario.day(index).notifications),
            first_day=scenario.day_index(start),
            after=start,
        )
        super().__init__("notifications", events)
        self._payloads = context.payloads("notifications")

    def handle(
        self, moment: datetime, item: tuple[Notification, str]
    ) -> Iterable[Message]:
        notification, action = item
        fields = {
            "notification_id": notification.key,
            "app_identifier": notification.package,
            "title": notification.title,
            "body": notification.body,
            "action": action,
            "metadata": {
                "tag": None,
                "key": notification.key,
                "group_key": notification.key,
                "when": epoch_milliseconds(notification.posted),
                "flags": 16,
                "priority": 0,
                "category": _NOTIFICATION_CATEGORIES[notification.package],
                "is_clearable": True,
            },
        }
        payload = self._payloads.flat(moment, fields)
        return [Message("os.events.notifications.raw", payload)]


def _notification_changes(
    notifications: Iterable[Notification],
) -> list[tuple[datetime, tuple[Notification, str]]]:
    changes = []
    for notification in notifications:
        changes.append((notification.posted, (notification, "posted")))
        changes.append((notification.removed, (notification, "removed")))
    return changes
