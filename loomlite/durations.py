"""Duration text as settings and command-line options accept it."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration"]

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([dhms]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def parse_duration(text: str) -> timedelta:
    """Parse '90s', '15m', '1h30m', '2d' or plain seconds ('3600').

    Raises ValueError naming the text when it has another form, is not
    positive or is longer than ``timedelta`` can hold.
    """
    value = text.strip().lower()
    seconds: float
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    elif _DURATION.match(value):
        seconds = sum(
            float(amount) * _UNIT_SECONDS[unit] for amount, unit in _PART.findall(value)
        )
    else:
        raise ValueError(
            f"invalid duration {text!r}: expected a number of seconds or a value "
            "such as '90s', '15m', '1h30m' or '2d'"
        )
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be more than 0 seconds")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(
            f"invalid duration {text!r}: it is longer than the maximum of "
            f"{timedelta.max.days} days"
        ) from None
