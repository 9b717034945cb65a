"""Capture the log records that loomlite writes while a test pipeline runs."""

from __future__ import annotations

import logging

__all__ = ["LogCapture"]


class LogCapture(logging.Handler):
    """Keeps the records of the ``loomlite`` loggers at ``level`` and above.

    While started, the ``loomlite`` logger's level is lowered to ``level``
    if it was higher, and restored on ``stop``.
    """

    def __init__(self, level: int = logging.INFO, name: str = "loomlite") -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self._logger = logging.getLogger(name)
        self._saved_level: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def start(self) -> None:
        self._saved_level = self._logger.level
        if self._logger.getEffectiveLevel() > self.level:
            self._logger.setLevel(self.level)
        self._logger.addHandler(self)

    def stop(self) -> None:
        self._logger.removeHandler(self)
        if self._saved_level is not None:
            self._logger.setLevel(self._saved_level)
            self._saved_level = None

    def messages(self, level: int = logging.NOTSET, logger: str = "") -> list[str]:
        """Return the formatted messages at ``level`` or above, optionally only
        from loggers whose name starts with ``logger``."""
        return [
            record.getMessage()
            for record in self.records
            if record.levelno >= level and record.name.startswith(logger)
        ]

    def clear(self) -> None:
        self.records.clear()
