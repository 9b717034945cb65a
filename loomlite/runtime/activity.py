"""Activity: a broadcast wake-up signal for code waiting on runtime progress."""

from __future__ import annotations

import anyio

__all__ = ["Activity"]


class Activity:
    """Wakes every waiter each time ``notify`` is called.

    A waiter takes ``event()`` before it checks its condition and waits on
    that event afterwards, so a notification between the check and the wait
    is not lost.
    """

    def __init__(self) -> None:
        self._event = anyio.Event()

    def event(self) -> anyio.Event:
        """Return the event that the next ``notify`` sets."""
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()
