"""Objects that exist at start are left out of later garbage collections."""

from __future__ import annotations

import gc

from loomlite._collector import freeze_startup_objects


def test_frozen_objects_leave_collections() -> None:
    existing = [object()]
    try:
        frozen = freeze_startup_objects()
        later = [object()]
        tracked = gc.get_objects()

        # Frozen objects that other threads free meanwhile leave the count.
        assert 0 < gc.get_freeze_count() <= frozen
        assert not any(item is existing for item in tracked)
        assert any(item is later for item in tracked)
    finally:
        gc.unfreeze()
