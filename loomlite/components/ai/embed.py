"""Text embeddings: the stage interface and a simulated feature-hashing backend."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.backends import Backend

__all__ = ["HashingTextEmbedder", "TextEmbedder"]

logger = logging.getLogger(__name__)

# all-MiniLM-L6-v2, the production embedder, returns 384 values; the hashing
# backend matches it so that table columns and indexes fit either.
DEFAULT_DIMENSIONS: Final = 384

_WORD: Final = re.compile(r"\w+")


@runtime_checkable
class TextEmbedder(Backend, Protocol):
    """A text-embedding backend. Components call ``embed`` in a worker thread."""

    @property
    def dimensions(self) -> int:
        """The length of every vector that ``embed`` returns."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in order. An empty sequence gives ``[]``."""
        ...


class HashingTextEmbedder:
    """Feature hashing of word unigrams and bigrams: lexical, not semantic.

    Each text is lower-cased and split into words (runs of Unicode word
    characters). Every word and every pair of adjacent words adds 1 or -1 to
    one of ``dimensions`` buckets, both chosen by a BLAKE2 hash of the
    feature, and the vector is scaled to unit length. The same text therefore
    always gives the same vector, and texts that share words or word pairs
    have a positive cosine similarity. Synonyms, paraphrases and other
    languages are not related. A text without words gives the zero vector,
    whose cosine similarity with anything is undefined.
    """

    name = "simulated-hashing"
    simulated = True

    def __init__(self, *, dimensions: int = DEFAULT_DIMENSIONS) -> None:
        if not 16 <= dimensions <= 65_536:
            raise ValueError(
                f"dimensions {dimensions!r} is out of range; expected 16-65536"
            )
        self._dimensions = dimensions

    @property
    def dimensions(self) -> int:
        """The length of every vector."""
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit vector per text (zero for a text without words)."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        vectors = np.zeros((len(texts), self._dimensions), dtype=np.float64)
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {row} is {type(text).__name__}, expected str")
            self._add_features(vectors[row], text)

        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        result: list[list[float]] = vectors.tolist()
        return result

    def _add_features(self, vector: npt.NDArray[np.float64], text: str) -> None:
        words = _WORD.findall(text.lower())
        bigrams = [f"{first} {second}" for first, second in pairwise(words)]
        for feature in [*words, *bigrams]:
            bucket, sign = _bucket(feature, self._dimensions)
            vector[bucket] += sign


@lru_cache(maxsize=65_536)
def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    """Return the bucket index and the sign (+1.0 or -1.0) of one feature."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # The lowest bit picks the sign, so that collisions cancel on average
    # instead of adding up.
    sign = 1.0 if value & 1 else -1.0
    return (value >> 1) % dimensions, sign
