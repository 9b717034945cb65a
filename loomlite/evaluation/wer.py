"""Word error rate of transcripts against reference text.

Both sides are normalised the same way before they are compared. Text is
lower-cased and numbers from 0 to 99 are written out as words ("12" becomes
"twelve"). Every character other than a letter, a digit or an apostrophe
counts as a space. The
rate is the word-level Levenshtein distance (substitutions, deletions and
insertions) divided by the number of reference words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

__all__ = ["normalise_words", "word_edits", "word_error_rate"]

_ONES: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
# Index 0 and 1 are unused: 0-19 come from _ONES.
_TENS: Final = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety",
)  # fmt: skip
_NUMBER: Final = re.compile(r"\b\d{1,2}\b")
_NOT_WORD: Final = re.compile(r"[^a-z0-9']+")


def _number_words(match: re.Match[str]) -> str:
    value = int(match.group())
    if value < 20:
        return _ONES[value]
    tens, ones = divmod(value, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]} {_ONES[ones]}"


def normalise_words(text: str) -> list[str]:
    """Return the words of ``text`` after the normalisation described above."""
    lowered = _NUMBER.sub(_number_words, text.lower())
    return [word.strip("'") for word in _NOT_WORD.split(lowered) if word.strip("'")]


def word_edits(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Return the minimum number of word substitutions, deletions and insertions."""
    previous = list(range(len(hypothesis) + 1))
    for row, expected in enumerate(reference, start=1):
        current = [row]
        for column, actual in enumerate(hypothesis, start=1):
            substitution = previous[column - 1] + (expected != actual)
            current.append(
                min(substitution, previous[column] + 1, current[column - 1] + 1)
            )
        previous = current
    return previous[-1]


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Return the pooled word error rate of pairs of reference and hypothesis text.

    The edits of all pairs are added up and divided by the total number of
    reference words. Raises ValueError when the sequences differ in length
    or the references contain no words.
    """
    if len(references) != len(hypotheses):
        raise ValueError(
            f"got {len(references)} references but {len(hypotheses)} hypotheses; "
            "expected one hypothesis per reference"
        )
    edits = 0
    words = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        expected = normalise_words(reference)
        edits += word_edits(expected, normalise_words(hypothesis))
        words += len(expected)
    if words == 0:
        raise ValueError("the references contain no words to score against")
    return edits / words
