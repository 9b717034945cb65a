"""Score text-embedding backends on paraphrase retrieval, and measure their speed.

``fixtures/text/paraphrases.json`` contains pairs of sentences with the same
meaning, each with a topic. Each query is embedded (as a search query where
the backend has ``embed_queries``), every paraphrase is embedded as a stored
text, and the query scores a hit when its own paraphrase has the highest
cosine similarity of all candidates. Top-1 accuracy is the share of hits.

``paraphrase_top1`` uses the first pair of each topic, so every wrong
candidate is about another subject; it has the 0.9 threshold.
``paraphrase_top1_distractors`` uses every pair. Some queries then also face
a paraphrase about the same subject, often with the opposite meaning (slept
badly, slept well). This metric has no threshold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from loomlite._fixtures import fixture_path
from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.embed import TextEmbedder
from loomlite.evaluation._common import load_backends
from loomlite.evaluation.score import Score

__all__ = [
    "PARAPHRASE_TOP1_THRESHOLD",
    "STAGES",
    "ParaphrasePair",
    "evaluate",
    "load_paraphrases",
    "measure_speed",
    "paraphrase_top1",
]

PARAPHRASE_TOP1_THRESHOLD: Final = 0.9
STAGES: Final = ("embed",)
"""Registry stages whose backends ``evaluate`` scores."""
DEFAULT_BACKENDS: Final = ("e5-small",)
FIXTURES: Final = "fixtures/text/paraphrases.json"
# Sentences per embed call when measuring speed.
_SPEED_BATCH: Final = 64


@dataclass(frozen=True, slots=True)
class ParaphrasePair:
    """A query and a sentence with the same meaning in other words."""

    topic: str
    query: str
    paraphrase: str


def load_paraphrases(*, distractors: bool = False) -> list[ParaphrasePair]:
    """Read the pairs from ``fixtures/text/paraphrases.json``.

    Without ``distractors`` only the first pair of each topic is returned.
    """
    path = fixture_path("text", "paraphrases.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs = [
        ParaphrasePair(pair["topic"], pair["query"], pair["paraphrase"])
        for pair in data["pairs"]
    ]
    if distractors:
        return pairs
    first_of_topic = {pair.topic: pair for pair in reversed(pairs)}
    return [pair for pair in pairs if first_of_topic[pair.topic] is pair]


def paraphrase_top1(
    embedder: TextEmbedder, pairs: Sequence[ParaphrasePair]
) -> tuple[float, dict[str, float]]:
    """Return top-1 accuracy and secondary numbers for one embedder.

    The secondary numbers are the mean cosine similarity of each query with
    its paraphrase and with the best-scoring other paraphrase.
    """
    queries = _embed_queries(embedder, [pair.query for pair in pairs])
    passages = _unit_rows(embedder.embed([pair.paraphrase for pair in pairs]))
    similarities = queries @ passages.T

    hits = int(np.sum(np.argmax(similarities, axis=1) == np.arange(len(pairs))))
    positives = np.diag(similarities)
    others = similarities.copy()
    np.fill_diagonal(others, -np.inf)
    details = {
        "mean_cosine_paraphrase": round(float(positives.mean()), 4),
        "mean_cosine_best_other": round(float(others.max(axis=1).mean()), 4),
    }
    return hits / len(pairs), details


def evaluate(backends: Sequence[str] | None = None) -> list[Score]:
    """Score embedding backends on the paraphrases: by default the installed real ones.

    ``backends`` names the backends to score, and names of other stages are
    ignored.
    """
    scores = []
    embedder: TextEmbedder
    for name, embedder, started in load_backends("embed", DEFAULT_BACKENDS, backends):
        for metric, distractors, threshold in (
            ("paraphrase_top1", False, PARAPHRASE_TOP1_THRESHOLD),
            ("paraphrase_top1_distractors", True, None),
        ):
            pairs = load_paraphrases(distractors=distractors)
            value, details = paraphrase_top1(embedder, pairs)
            scores.append(
                Score(
                    stage="embed",
                    backend=name,
                    metric=metric,
                    value=value,
                    threshold=threshold,
                    higher_is_better=True,
                    items=len(pairs),
                    fixtures=FIXTURES,
                    seconds=time.perf_counter() - started,
                    details=details,
                )
            )
            # Only the first metric's time includes loading the model.
            started = time.perf_counter()
    return scores


def measure_speed(backend: str = "e5-small") -> tuple[float, str]:
    """Return the sentences per second of one backend, embedding batches of 64.

    The batch is the fixture sentences repeated. One batch runs before timing
    starts, and timing covers at least one batch and one second.
    """
    embedder: TextEmbedder = load_backend("embed", backend)
    pairs = load_paraphrases(distractors=True)
    texts = [pair.query for pair in pairs] + [pair.paraphrase for pair in pairs]
    batch = (texts * (_SPEED_BATCH // len(texts) + 1))[:_SPEED_BATCH]
    embedder.embed(batch)

    count = 0
    started = time.perf_counter()
    while count == 0 or time.perf_counter() - started < 1.0:
        embedder.embed(batch)
        count += len(batch)
    return count / (time.perf_counter() - started), "sentences/s"


def _embed_queries(embedder: TextEmbedder, texts: list[str]) -> npt.NDArray[np.float64]:
    embed_queries = getattr(embedder, "embed_queries", None)
    vectors = embed_queries(texts) if callable(embed_queries) else embedder.embed(texts)
    return _unit_rows(vectors)


def _unit_rows(vectors: list[list[float]]) -> npt.NDArray[np.float64]:
    array = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit: npt.NDArray[np.float64] = np.divide(
        array, norms, out=np.zeros_like(array), where=norms > 0
    )
    return unit
