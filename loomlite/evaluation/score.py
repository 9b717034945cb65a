"""The result of scoring one backend of one stage on one metric."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Score"]


@dataclass(frozen=True, slots=True)
class Score:
    """One metric of one backend, measured on a named fixture set."""

    stage: str
    """Backend stage, such as ``vad``, ``stt`` or ``ocr``."""
    backend: str
    """Registry name of the backend."""
    metric: str
    """Metric name, such as ``frame_agreement`` or ``word_error_rate``."""
    value: float
    threshold: float | None
    """Value the backend must reach, or None when the metric has no target."""
    higher_is_better: bool
    items: int
    """Number of fixture items scored."""
    fixtures: str
    """Fixture set the metric was measured on, such as ``fixtures/audio``."""
    seconds: float
    """Wall-clock time the scoring took, model loading included."""
    details: dict[str, float] = field(default_factory=dict)
    """Per-item or secondary numbers, such as precision and recall."""

    @property
    def passed(self) -> bool | None:
        """Whether ``value`` reaches ``threshold``; None without a threshold."""
        if self.threshold is None:
            return None
        if self.higher_is_better:
            return self.value >= self.threshold
        return self.value <= self.threshold
