"""Raw app monitoring, Android usage statistics and device metadata.

Field names and list limits are those of the production ingestion API's
request bodies.
"""

from __future__ import annotations

import json
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata
from loomlite.contract.types import ContractModel, JsonObject, UtcDatetime

__all__ = [
    "AndroidAppCategoryStats",
    "AndroidAppEvent",
    "AndroidAppEventStats",
    "AndroidAppInfo",
    "AndroidAppMonitoring",
    "AndroidAppUsageAggregated",
    "AndroidAppUsageStats",
    "AndroidNotificationStats",
    "AndroidScreenTimeStats",
    "ApplicationInfo",
    "DeviceMetadata",
    "MacOSAppMonitoring",
]

MAX_METADATA_CHARS = 1_048_576
"""Longest JSON text of a device metadata object, as production enforced."""


def _unknown_if_blank(value: str) -> str:
    return value.strip() or "unknown"


AppIdentifier = Annotated[str, AfterValidator(_unknown_if_blank)]


class ApplicationInfo(ContractModel):
    """One running macOS application."""

    pid: int = Field(gt=0)
    name: str
    bundle_id: AppIdentifier = Field(description="Blank ids become 'unknown'.")
    active: bool
    hidden: bool
    launch_date: float | None = Field(None, ge=0.0, description="Unix seconds.")


class AndroidAppInfo(ContractModel):
    """One running Android application."""

    pid: int = Field(gt=0)
    name: str
    package_name: AppIdentifier = Field(description="Blank ids become 'unknown'.")
    active: bool
    hidden: bool
    launch_date: float | None = Field(None, ge=0.0, description="Unix seconds.")
    version_code: int | None = None
    version_name: str | None = None


class MacOSAppMonitoring(Envelope):
    running_applications: list[ApplicationInfo] = Field(max_length=100)
    metadata: Metadata = None


class AndroidAppMonitoring(Envelope):
    running_applications: list[AndroidAppInfo] = Field(max_length=100)
    metadata: Metadata = None


class AndroidAppUsageStats(ContractModel):
    package_name: str
    app_name: str | None = None
    total_time_foreground_ms: int = Field(ge=0)
    last_time_used: UtcDatetime
    last_time_foreground_service_used: UtcDatetime | None = None
    total_time_foreground_service_used_ms: int = Field(0, ge=0)
    launch_count: int = Field(0, ge=0)


class AndroidAppEventStats(ContractModel):
    package_name: str
    event_type: str
    event_count: int = Field(ge=0)
    last_event_time: UtcDatetime


class AndroidScreenTimeStats(ContractModel):
    category: str
    total_time_ms: int = Field(ge=0)
    app_count: int = Field(ge=0)
    percentage_of_total: float = Field(ge=0.0, le=100.0)


class AndroidNotificationStats(ContractModel):
    package_name: str
    notification_count: int = Field(ge=0)
    interaction_count: int = Field(0, ge=0)
    dismissal_count: int = Field(0, ge=0)


class _AggregationPeriod(Envelope):
    aggregation_period_start: UtcDatetime
    aggregation_period_end: UtcDatetime

    @model_validator(mode="after")
    def _check_period(self) -> Self:
        if self.aggregation_period_end <= self.aggregation_period_start:
            raise ValueError(
                "aggregation_period_end must be after aggregation_period_start, "
                f"got {self.aggregation_period_end.isoformat()} <= "
                f"{self.aggregation_period_start.isoformat()}"
            )
        return self


class AndroidAppUsageAggregated(_AggregationPeriod):
    """Android UsageStats totals over one aggregation period."""

    aggregation_interval_minutes: int = Field(60, gt=0)
    total_screen_time_ms: int = Field(ge=0)
    total_unlocks: int = Field(0, ge=0)
    app_usage_stats: list[AndroidAppUsageStats] = Field(max_length=500)
    app_event_stats: list[AndroidAppEventStats] = Field([], max_length=1000)
    screen_time_by_category: list[AndroidScreenTimeStats] = []
    notification_stats: list[AndroidNotificationStats] = Field([], max_length=200)
    metadata: Metadata = None


class AndroidAppEvent(Envelope):
    """One Android UsageEvents event, e.g. MOVE_TO_FOREGROUND."""

    package_name: str
    event_type: str
    app_name: str | None = None
    class_name: str | None = None
    shortcut_id: str | None = None
    notification_channel_id: str | None = None
    standby_bucket: int | None = None
    configuration: JsonObject | None = None
    metadata: Metadata = None


class AndroidAppCategoryStats(_AggregationPeriod):
    """Android screen time per app category over one aggregation period."""

    category_stats: list[AndroidScreenTimeStats] = Field(max_length=50)
    total_screen_time_ms: int = Field(ge=0)
    device_unlocks: int = Field(0, ge=0)
    metadata: Metadata = None


def _strip_lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _check_metadata_size(value: dict[str, object]) -> dict[str, object]:
    if not value:
        raise ValueError("metadata must not be empty")
    size = len(json.dumps(value, default=str))
    if size > MAX_METADATA_CHARS:
        raise ValueError(
            f"metadata is {size} characters of JSON, more than the limit of "
            f"{MAX_METADATA_CHARS}"
        )
    return value


class DeviceMetadata(Envelope):
    """Free-form facts about a device, e.g. hardware specs or app info."""

    metadata_type: Annotated[
        str, BeforeValidator(_strip_lower), Field(min_length=1, max_length=64)
    ] = Field(description="e.g. hardware_specs; stored stripped and lower-case.")
    metadata: Annotated[JsonObject, AfterValidator(_check_metadata_size)]
