"""Reading order of detected text boxes: rows, then left to right."""

from __future__ import annotations

from loomlite.components.ai.vision.reading_order import TextBox, group_rows, join_rows


def box(text: str, x: int, y: int, width: int = 40, height: int = 16) -> TextBox:
    return TextBox(text, 0.99, x, y, width, height)


def test_rows_sort_left_to_right() -> None:
    boxes = [box("On", 300, 101), box("Bluetooth", 20, 100), box("Settings", 20, 40)]

    rows = group_rows(boxes)

    assert [[item.text for item in row] for row in rows] == [
        ["Settings"],
        ["Bluetooth", "On"],
    ]


def test_offset_box_joins_row_within_extent() -> None:
    # The second box is 6 px lower, so its centre (y 114) is inside the
    # first box's extent (100-116).
    rows = group_rows([box("Wi-Fi", 20, 100), box("Home-5G", 260, 106)])

    assert len(rows) == 1


def test_box_below_extent_starts_new_row() -> None:
    rows = group_rows([box("Subject", 160, 74), box("Drafts", 10, 84)])

    assert [[item.text for item in row] for row in rows] == [["Subject"], ["Drafts"]]


def test_join_rows_uses_spaces_and_newlines() -> None:
    rows = group_rows([box("b", 100, 0), box("a", 0, 0), box("c", 0, 40)])

    assert join_rows(rows) == "a b\nc"


def test_no_boxes_give_no_rows() -> None:
    assert group_rows([]) == []
    assert join_rows([]) == ""
