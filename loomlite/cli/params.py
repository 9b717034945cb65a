"""Click parameter types shared by commands: durations and speeds."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import click

from loomlite.durations import parse_duration

__all__ = [
    "ADDRESS",
    "DURATION",
    "SPEED",
    "AddressType",
    "DurationType",
    "SpeedType",
    "parse_address",
    "parse_duration",
]


class DurationType(click.ParamType[timedelta]):
    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class SpeedType(click.ParamType[float | str]):
    """A clock speed: a positive factor, or 'max' for as fast as possible."""

    name = "factor|max"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float | str:
        if isinstance(value, float):
            return value
        text = str(value).strip().lower()
        if text == "max":
            return "max"
        try:
            factor = float(text.rstrip("x"))
        except ValueError:
            self.fail(
                f"invalid speed {value!r}: expected a factor such as 1, 60 or 100x, "
                "or 'max'",
                param,
                ctx,
            )
        if not (math.isfinite(factor) and factor > 0):
            self.fail(
                f"invalid speed {value!r}: the factor must be a positive finite "
                "number; use 'max' to run as fast as possible",
                param,
                ctx,
            )
        return factor


DURATION = DurationType()
SPEED = SpeedType()


def parse_address(text: str) -> tuple[str, int]:
    """Parse 'HOST:PORT', '[IPv6]:PORT' or ':PORT' (loopback) into host and port.

    Raises ValueError naming the text when it has another form.
    """
    host, separator, port = text.strip().rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"invalid address {text!r}: expected HOST:PORT such as 127.0.0.1:8000"
        )
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


class AddressType(click.ParamType[tuple[str, int]]):
    """A listening address, HOST:PORT."""

    name = "host:port"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_address(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


ADDRESS = AddressType()
