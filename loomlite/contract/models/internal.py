"""loomlite's own bookkeeping: scheduled job status and scheduler triggers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loomlite.contract.envelope import Envelope
from loomlite.contract.types import UtcDatetime

__all__ = ["ScheduledJobStatus", "SchedulerTrigger"]


class ScheduledJobStatus(Envelope):
    """The outcome of one run of a scheduled fetch job."""

    job_id: str = Field(min_length=1, description="'<job_type>_<device_id>'.")
    job_type: str = Field(min_length=1, description="e.g. email_sync.")
    status: Literal["success", "failed", "running", "skipped"]
    last_run: UtcDatetime
    next_run: UtcDatetime | None = None
    items_processed: int = Field(0, ge=0)
    execution_duration: float | None = Field(None, ge=0.0, description="Seconds.")
    error_message: str | None = None


class SchedulerTrigger(Envelope):
    """A request to run a fetch job now; ``recorded_at`` is when it was due."""

    job_type: str = Field(min_length=1, description="e.g. email_fetch.")
    reason: str | None = Field(None, description="e.g. schedule, manual.")
