"""The feature-hashing text embedder: shape, norm, determinism and retrieval."""

from __future__ import annotations

import numpy as np
import pytest

from loomlite.components.ai.embed import HashingTextEmbedder, TextEmbedder

DOCUMENTS = [
    "Hiking plan for Saturday: meet at the pass car park at eight",
    "The quarterly budget review moved to Thursday afternoon",
    "Battery saver turned on because the phone dropped below 20 percent",
    "Recipe for apple pie with cinnamon and a butter crust",
    "The sensor pipeline import failed on the schema check",
    "Train delays on the morning commute into the city",
]
QUERIES = {
    "car park meeting point for the Saturday hike": 0,
    "budget review on Thursday": 1,
    "phone battery below 20 percent": 2,
    "apple pie recipe": 3,
    "schema check failed in the sensor import": 4,
    "morning train delays": 5,
}


def cosine(first: list[float], second: list[float]) -> float:
    return float(np.dot(first, second))


def test_embed_name_says_simulated() -> None:
    embedder = HashingTextEmbedder()

    assert embedder.name.startswith("simulated")
    assert embedder.simulated is True
    assert isinstance(embedder, TextEmbedder)


def test_embed_unit_vectors_of_384() -> None:
    vectors = HashingTextEmbedder().embed(DOCUMENTS)

    assert len(vectors) == len(DOCUMENTS)
    for vector in vectors:
        assert len(vector) == 384
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-12)


def test_embed_identical_texts_cosine_one() -> None:
    first, second = HashingTextEmbedder().embed([DOCUMENTS[0], DOCUMENTS[0]])

    assert cosine(first, second) == pytest.approx(1.0, abs=1e-12)


def test_embed_is_deterministic_across_instances() -> None:
    first = HashingTextEmbedder().embed(DOCUMENTS)
    second = HashingTextEmbedder().embed(list(reversed(DOCUMENTS)))

    assert first == list(reversed(second))


def test_embed_ignores_case_and_punctuation() -> None:
    first, second = HashingTextEmbedder().embed(["Hello, World!", "hello world"])

    assert first == second


def test_embed_shared_words_rank_first() -> None:
    embedder = HashingTextEmbedder()
    documents = embedder.embed(DOCUMENTS)

    for query, expected in QUERIES.items():
        (vector,) = embedder.embed([query])
        scores = [cosine(vector, document) for document in documents]
        assert int(np.argmax(scores)) == expected, query


def test_embed_related_above_unrelated() -> None:
    related, unrelated, query = HashingTextEmbedder().embed(
        ["the lake walk near Cerknica", "quarterly budget", "a walk around the lake"]
    )

    assert cosine(query, related) > 0.3
    assert abs(cosine(query, unrelated)) < 0.2


def test_embed_word_order_changes_bigrams() -> None:
    first, second = HashingTextEmbedder().embed(["dog bites man", "man bites dog"])

    assert 0.3 < cosine(first, second) < 0.99


def test_embed_empty_sequence() -> None:
    assert HashingTextEmbedder().embed([]) == []


@pytest.mark.parametrize("text", ["", "   ", "?!"], ids=["empty", "spaces", "marks"])
def test_embed_text_without_words_is_zero(text: str) -> None:
    (vector,) = HashingTextEmbedder().embed([text])

    assert len(vector) == 384
    assert not any(vector)


def test_embed_rejects_single_string() -> None:
    with pytest.raises(TypeError, match="not one str"):
        HashingTextEmbedder().embed("a text")


def test_embed_rejects_non_string_item() -> None:
    with pytest.raises(TypeError, match="text 1 is bytes"):
        HashingTextEmbedder().embed(["fine", b"bytes"])  # type: ignore[list-item]


def test_embed_dimensions_option() -> None:
    embedder = HashingTextEmbedder(dimensions=32)

    (vector,) = embedder.embed(["short text"])

    assert embedder.dimensions == 32
    assert len(vector) == 32


def test_embed_rejects_tiny_dimensions() -> None:
    with pytest.raises(ValueError, match="dimensions 4 is out of range"):
        HashingTextEmbedder(dimensions=4)
