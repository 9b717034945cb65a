"""Raw topics that fetchers write, and loomlite's scheduler topics."""

from __future__ import annotations

from loomlite.contract.catalog import TopicKind, TopicSpec
from loomlite.contract.models import (
    CalendarEvent,
    EmailEvent,
    HackerNewsItem,
    RssItem,
    ScheduledJobStatus,
    SchedulerTrigger,
    TweetScreenshot,
    TwitterLike,
    WebVisit,
)
from loomlite.contract.topics._build import NO_STAGE_YET, WEEK, days, table

__all__ = ["EXTERNAL_TOPICS"]

RAW = TopicKind.RAW
INTERNAL = TopicKind.INTERNAL

_FETCHED = [
    TopicSpec(
        name="external.email.events.raw",
        kind=RAW,
        description=(
            "Emails, one message per email. Canonical name of what "
            "production's email fetchers wrote; 'external.email.raw' and "
            "'external.email.parsed' (flow docs and registry, no producer) are "
            "aliases. The fetchers' nested 'message_id' (the Message-ID "
            "header) becomes 'message_id_external'; 'from_address' and "
            "'sender_email' mean 'sender'; 'receiver' and 'to_addresses' mean "
            "'recipients'; 'cc_addresses' means 'cc'; 'body_text' and "
            "'body_preview' mean 'body'; 'seen' means 'is_read'; "
            "'date_received' means 'received_date'."
        ),
        models={1: EmailEvent},
        aliases=("external.email.raw", "external.email.parsed"),
        retention=days(90),
        table=table(
            "external_email_events_raw", "message_id_external", unique=("content_hash",)
        ),
        field_aliases={
            "data.message_id": "message_id_external",
            "from_address": "sender",
            "sender_email": "sender",
            "receiver": "recipients",
            "to_addresses": "recipients",
            "cc_addresses": "cc",
            "body_text": "body",
            "body_preview": "body",
            "seen": "is_read",
            "date_received": "received_date",
        },
    ),
    TopicSpec(
        name="external.calendar.events.raw",
        kind=RAW,
        description=(
            "Calendar events; recorded_at is the event start. "
            "'external.calendar.raw' and 'external.calendar.enriched' (flow "
            "docs and registry, no producer) are aliases; loomlite's fetcher "
            "does the enrichment (the location's coordinates) itself. The "
            "fetcher's 'summary' means 'title'."
        ),
        models={1: CalendarEvent},
        aliases=("external.calendar.raw", "external.calendar.enriched"),
        retention=days(365),
        table=table(
            "external_calendar_events_raw", "event_id", unique=("content_hash",)
        ),
        field_aliases={"summary": "title"},
    ),
    TopicSpec(
        name="external.twitter.liked.raw",
        kind=RAW,
        description=(
            "Posts the user liked on X. 'task.likes.x' (README only) is an "
            "alias. The fetcher's 'url', 'text', 'author', 'type' and "
            "'metrics.likes|retweets|replies' mean 'tweet_url', 'tweet_text', "
            "'author_username', 'interaction_type' and the '*_count' fields; "
            "'created_at' means 'tweet_created_at'."
        ),
        models={1: TwitterLike},
        aliases=("task.likes.x",),
        retention=days(365),
        table=table("external_twitter_liked_raw", "tweet_id", unique=("content_hash",)),
        field_aliases={
            "url": "tweet_url",
            "text": "tweet_text",
            "author": "author_username",
            "type": "interaction_type",
            "created_at": "tweet_created_at",
            "metrics.likes": "like_count",
            "metrics.retweets": "retweet_count",
            "metrics.replies": "reply_count",
        },
    ),
    TopicSpec(
        name="external.twitter.images.raw",
        kind=RAW,
        description=(
            "Screenshots of posts on X, for OCR. The proposed rename "
            "'external.twitter.screenshots.raw' is an alias."
        ),
        models={1: TweetScreenshot},
        aliases=("external.twitter.screenshots.raw",),
        retention=days(7),
        table=table("external_twitter_images_raw"),
    ),
    TopicSpec(
        name="external.hackernews.activity.raw",
        kind=RAW,
        description=(
            "Hacker News stories the user favorited or submitted. Production "
            "used four names; this one is canonical because production's API "
            "pre-created it (180 days, 2 partitions), its scheduled consumer "
            "and the fetcher's tests wrote it, it follows the "
            "external.<source>.<data>.raw pattern, and 'activity' covers "
            "submissions, which the fetcher falls back to. "
            "'external.hackernews.favorites.raw' (compose wiring), "
            "'task.likes.hackernews' (fetcher default) and "
            "'external.hackernews.liked' (registry) are aliases. 'story_id' "
            "means 'item_id', 'comments_count' means 'comment_count', 'type' "
            "means 'interaction_type', and 'created_at' is the event time."
        ),
        models={1: HackerNewsItem},
        aliases=(
            "external.hackernews.favorites.raw",
            "task.likes.hackernews",
            "external.hackernews.liked",
        ),
        retention=days(180),
        partitions=2,
        table=table(
            "external_hackernews_activity_raw", "item_id", unique=("content_hash",)
        ),
        field_aliases={
            "story_id": "item_id",
            "comments_count": "comment_count",
            "type": "interaction_type",
            "created_at": "recorded_at",
        },
    ),
    TopicSpec(
        name="external.web.visits.raw",
        kind=RAW,
        description="Browser history entries read from the local browsers.",
        models={1: WebVisit},
        retention=days(30),
        table=table("external_web_visits_raw", "url"),
    ),
    TopicSpec(
        name="external.rss.items.raw",
        kind=RAW,
        description="Items of RSS and Atom feeds.",
        models={1: RssItem},
        retention=WEEK,
        not_persisted_reason=NO_STAGE_YET,
    ),
]

_SCHEDULER = [
    TopicSpec(
        name="internal.scheduled.jobs.status",
        kind=INTERNAL,
        description=(
            "The outcome of each scheduled fetch run. One partition, as in "
            "production (where the topic was also log-compacted)."
        ),
        models={1: ScheduledJobStatus},
        retention=days(7),
        partitions=1,
        table=table("internal_scheduled_jobs_status", "job_id"),
    ),
    *(
        TopicSpec(
            name=f"scheduler.triggers.{job}",
            kind=INTERNAL,
            description=f"Requests to run the {job} job now.",
            models={1: SchedulerTrigger},
            retention=days(1),
            partitions=1,
            not_persisted_reason="A trigger carries no data worth storing.",
        )
        for job in ("calendar_fetch", "email_fetch", "hn_scrape")
    ),
]

EXTERNAL_TOPICS: list[TopicSpec] = [*_FETCHED, *_SCHEDULER]
