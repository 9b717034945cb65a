"""Location of the data files that ship with loomlite (GPX tracks, images, places).

In a source checkout they live in ``fixtures/`` beside the ``loomlite``
package. A wheel carries a copy in ``loomlite/_data/fixtures`` (see the
``force-include`` table in pyproject.toml).
"""

from __future__ import annotations

import errno
from functools import cache
from pathlib import Path

__all__ = ["fixture_path", "fixtures_root"]

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def fixtures_root() -> Path:
    """Return the directory that contains the fixture files.

    The checkout's ``fixtures/`` counts only when a ``pyproject.toml`` sits
    beside it, because an unrelated top-level package named ``fixtures`` may be
    installed next to loomlite in site-packages.
    """
    checkout = _PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "fixtures").is_dir():
        return checkout / "fixtures"
    return _PACKAGE_DIR / "_data" / "fixtures"


def fixture_path(*parts: str) -> Path:
    """Return the path of a fixture file or directory below the fixtures root.

    Call it as ``fixture_path("places", "places.csv")``. It raises
    FileNotFoundError naming the full path when it does not exist, and
    ValueError when a part would lead outside the fixtures directory.
    """
    root = fixtures_root()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(
            f"fixture path {'/'.join(parts)!r} leads outside {root}; "
            "pass parts relative to the fixtures directory"
        )
    if not path.exists():
        raise FileNotFoundError(
            errno.ENOENT,
            f"fixture {'/'.join(parts)!r} not found in {root}; reinstall loomlite "
            "or restore the file from the repository",
            str(path),
        )
    return path
