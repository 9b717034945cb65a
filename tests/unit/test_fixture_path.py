"""fixture_path: lookup of the packaged data files."""

from __future__ import annotations

import pytest

from loomlite._fixtures import fixture_path, fixtures_root


def test_fixture_path_finds_checkout_file() -> None:
    path = fixture_path("places", "places.csv")

    assert path.is_file()
    assert path.parent.parent == fixtures_root().resolve()


def test_fixture_path_names_missing_file() -> None:
    with pytest.raises(FileNotFoundError) as caught:
        fixture_path("places", "atlantis.csv")

    assert "places/atlantis.csv" in str(caught.value)
    assert caught.value.filename.endswith("atlantis.csv")


def test_fixture_path_rejects_parent_directory() -> None:
    with pytest.raises(ValueError, match="leads outside"):
        fixture_path("..", "pyproject.toml")
