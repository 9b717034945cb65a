"""Put detected text boxes into reading order: rows top to bottom, then left to
right within a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TextBox", "group_rows", "join_rows"]


@dataclass(frozen=True, slots=True)
class TextBox:
    """One detected piece of text and its axis-aligned bounding box in pixels."""

    text: str
    confidence: float
    x: int
    y: int
    width: int
    height: int

    @property
    def centre_y(self) -> float:
        """The vertical centre of the box."""
        return self.y + self.height / 2


def group_rows(boxes: Sequence[TextBox]) -> list[list[TextBox]]:
    """Group boxes into rows and sort each row from left to right.

    Boxes are taken in order of their vertical centre. A box joins the
    current row when its centre lies within the vertical extent of the row's
    first box, and starts a new row otherwise. Text in two columns whose
    lines are offset by more than half a line height therefore reads as
    separate rows, in the order of their heights on the page.
    """
    rows: list[list[TextBox]] = []
    top = bottom = 0.0
    for box in sorted(boxes, key=lambda box: (box.centre_y, box.x)):
        if rows and top <= box.centre_y <= bottom:
            rows[-1].append(box)
            continue
        rows.append([box])
        top, bottom = box.y, box.y + box.height
    return [sorted(row, key=lambda box: box.x) for row in rows]


def join_rows(rows: Sequence[Sequence[TextBox]]) -> str:
    """Join the texts of each row with a space, and the rows with newlines."""
    return "\n".join(" ".join(box.text for box in row) for row in rows)
