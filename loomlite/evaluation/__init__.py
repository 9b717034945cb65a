"""Score model backends against fixtures with known ground truth.

Each module in this package scores one family of stages and exposes
``evaluate(backends) -> list[Score]``; ``loomlite eval`` runs them and
``docs/accuracy.md`` records the results.
"""

from loomlite.evaluation.score import Score

__all__ = ["Score"]
