"""Raw digital activity, operating-system events and job request topics."""

from __future__ import annotations

from loomlite.contract.catalog import TopicKind, TopicSpec
from loomlite.contract.models import (
    ClipboardData,
    DocumentTask,
    GitHubTask,
    NoteData,
    OSEventAppLifecycle,
    OSEventNotification,
    OSEventSystem,
    UrlTask,
    WebAnalyticsData,
)
from loomlite.contract.topics._build import WEEK, days, table

__all__ = ["DIGITAL_TOPICS"]

RAW = TopicKind.RAW
TASK = TopicKind.TASK

_DIGITAL = [
    TopicSpec(
        name="digital.notes.raw",
        kind=RAW,
        description=(
            "Text notes. Production's '/notes/upload' and '/notes/batch' wrote "
            "'device.text.notes.raw' while '/notes/digital' and the unified "
            "endpoint wrote this topic; both names are one topic here. "
            "'media.text.notes_extracted' (registry only, no producer) is an "
            "alias too, because loomlite has no separate note extraction stage."
        ),
        models={1: NoteData},
        aliases=("device.text.notes.raw", "media.text.notes_extracted"),
        retention=days(90),
        table=table("digital_notes_raw"),
    ),
    TopicSpec(
        name="digital.clipboard.raw",
        kind=RAW,
        description=(
            "Clipboard contents. 'content' (database mapping) means 'content_text'."
        ),
        models={1: ClipboardData},
        retention=days(7),
        table=table("digital_clipboard_raw"),
        field_aliases={"content": "content_text"},
    ),
    TopicSpec(
        name="digital.web_analytics.raw",
        kind=RAW,
        description="Time spent on web pages, as a browser extension measured it.",
        models={1: WebAnalyticsData},
        retention=days(30),
        table=table("digital_web_analytics_raw", "url"),
    ),
]

_OS_EVENTS = [
    TopicSpec(
        name="os.events.app_lifecycle.raw",
        kind=RAW,
        description="App launch, foreground, background, terminate and crash events.",
        models={1: OSEventAppLifecycle},
        retention=days(30),
        table=table("os_events_app_lifecycle_raw", "app_identifier"),
    ),
    TopicSpec(
        name="os.events.system.raw",
        kind=RAW,
        description=(
            "Screen, lock, power and boot events. The key includes event_type "
            "because a phone reports e.g. screen_off and device_lock at the "
            "same instant."
        ),
        models={1: OSEventSystem},
        retention=days(30),
        table=table("os_events_system_raw", "event_type"),
    ),
    TopicSpec(
        name="os.events.notifications.raw",
        kind=RAW,
        description="Notifications posted, removed or clicked on a device.",
        models={1: OSEventNotification},
        retention=days(30),
        table=table("os_events_notifications_raw", "notification_id"),
    ),
]

_TASKS = [
    TopicSpec(
        name="task.document.ingest",
        kind=TASK,
        description=(
            "Requests to extract text from an uploaded document. Canonical "
            "name of what production's '/documents' endpoints wrote; "
            "'digital.documents.raw' (docs and registry) is an alias."
        ),
        models={1: DocumentTask},
        aliases=("digital.documents.raw",),
        retention=WEEK,
        not_persisted_reason=(
            "A job request that carries the whole file; the extracted text is "
            "stored from processed.document.parsed."
        ),
    ),
    TopicSpec(
        name="task.github.ingest",
        kind=TASK,
        description="Requests to fetch and flatten a GitHub repository or file.",
        models={1: GitHubTask},
        retention=WEEK,
        not_persisted_reason=(
            "A job request; the extracted text is stored from processed.github.parsed."
        ),
    ),
    TopicSpec(
        name="task.url.ingest",
        kind=TASK,
        description=(
            "Requests to fetch a web page, e.g. a liked post or a Hacker News "
            "story. 'type' and 'url_type' mean 'task_type'; 'tweet_id' and "
            "'story_id' mean 'item_id'. Text priorities map to numbers: high 1, "
            "medium and normal 5, low 10."
        ),
        models={1: UrlTask},
        retention=days(7),
        table=table("task_url_ingest", "url"),
        field_aliases={
            "type": "task_type",
            "url_type": "task_type",
            "tweet_id": "item_id",
            "story_id": "item_id",
        },
    ),
]

DIGITAL_TOPICS: list[TopicSpec] = [*_DIGITAL, *_OS_EVENTS, *_TASKS]
