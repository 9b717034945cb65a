"""Profiles: TOML files of settings, found by name or path, loaded and watched."""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from loomlite.errors import ConfigurationError
from loomlite.runtime.settings import LoomliteSettings, _profile_values

__all__ = [
    "RESTART_KEYS",
    "available_profiles",
    "changed_keys",
    "find_profile",
    "load_settings",
    "profile_directories",
    "watch_profile",
]

logger = logging.getLogger(__name__)

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_ENV_PREFIX = "LOOMLITE_"
_ENV_DELIMITER = "__"

# Top-level settings that a running process cannot apply: changing them in a
# watched profile is reported, and takes effect at the next start.
RESTART_KEYS = frozenset(
    {
        "broker",
        "state_dir",
        "db_url",
        "clock",
        "speed",
        "start",
        "seed",
        "profile",
        "http",
        "api_key",
    }
)


def profile_directories() -> tuple[Path, ...]:
    """Return the directories searched for ``<name>.toml``, in search order.

    The first is ``profiles/`` beside the ``loomlite`` package in a source
    checkout, the second the copy that wheels install as package data.
    """
    package = Path(__file__).resolve().parents[1]
    candidates = (package.parent / "profiles", package / "_data" / "profiles")
    return tuple(directory for directory in candidates if directory.is_dir())


def available_profiles() -> list[str]:
    """Return the names of every profile found in the profile directories."""
    names = {
        path.stem
        for directory in profile_directories()
        for path in directory.glob("*.toml")
    }
    return sorted(names)


def find_profile(profile: str | Path) -> Path:
    """Return the file of a profile given by name or by path.

    A Path, or a string that contains a path separator or ends in ``.toml``,
    is taken as a file. Anything else is a name looked up in
    ``profile_directories()``. Raises ConfigurationError when nothing is
    found, and for a name the message lists the available profiles.
    """
    text = str(profile)
    if isinstance(profile, Path) or "/" in text or text.endswith(".toml"):
        path = Path(profile)
        if path.is_dir():
            raise ConfigurationError(
                f"invalid profile {text!r}: it is a directory; expected a .toml "
                "file or a profile name such as 'demo'",
                key="profile",
            )
        if not path.is_file():
            raise ConfigurationError(f"profile file {text!r} not found", key="profile")
        return path
    if not _NAME_PATTERN.match(text):
        raise ConfigurationError(
            f"invalid profile name {text!r}: use letters, digits, '-' and '_', "
            "or give a path to a .toml file",
            key="profile",
        )
    for directory in profile_directories():
        path = directory / f"{text}.toml"
        if path.is_file():
            return path
    available = ", ".join(available_profiles()) or "none"
    raise ConfigurationError(
        f"unknown profile {text!r}; available profiles: {available}", key="profile"
    )


def read_profile(path: Path) -> dict[str, Any]:
    """Parse a profile file; raises ConfigurationError naming the file on bad TOML."""
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"invalid TOML: {exc}", source=path) from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"invalid TOML: the file is not UTF-8 text ({exc.reason} "
            f"at byte {exc.start})",
            source=path,
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read profile: {exc.strerror}", source=path
        ) from exc


def load_settings(
    profile: str | Path | None = None,
    *,
    overrides_label: str = "keyword overrides",
    **overrides: Any,
) -> LoomliteSettings:
    """Load settings from a profile, the environment and ``overrides``.

    ``profile`` is a name, a path, or None; None uses ``LOOMLITE_PROFILE``
    when it is set and no profile file otherwise. ``overrides`` are settings
    fields, nested as dicts (``components={"ai": {"enabled": False}}``).
    Precedence: overrides, then environment variables, then the profile file,
    then defaults. Raises ConfigurationError naming the dotted key and the
    file or environment variable it came from; ``overrides_label`` names
    ``overrides`` there, for example "command-line options".
    """
    if profile is None:
        profile = os.environ.get(f"{_ENV_PREFIX}PROFILE") or None
    path = find_profile(profile) if profile is not None else None
    values = read_profile(path) if path is not None else {}
    if path is not None:
        values.setdefault("profile", path.stem)
        _resolve_phone_track(values, path)

    token = _profile_values.set(values)
    try:
        return LoomliteSettings(**overrides)
    except ValidationError as exc:
        raise _configuration_error(
            exc, overrides, values, path, overrides_label
        ) from None
    except SettingsError as exc:
        raise _environment_error(exc) from None
    finally:
        _profile_values.reset(token)


def _environment_error(error: SettingsError) -> ConfigurationError:
    """Convert pydantic-settings' error for a section variable that is not a
    JSON object, such as LOOMLITE_HTTP, into a ConfigurationError."""
    match = re.search(r'field "([^"]+)"', str(error))
    if match is None:
        return ConfigurationError(f"invalid settings: {error}")
    key = match.group(1)
    variable = f"{_ENV_PREFIX}{key.upper()}"
    value_text = _shorten(os.environ.get(variable))
    exception = ConfigurationError(
        f"invalid settings: {key!r} from environment variable {variable}: "
        f"expected a JSON object, or one variable per key such as "
        f"{variable}__ENABLED=true (got {value_text})"
    )
    exception.key, exception.source = key, variable
    return exception


def _resolve_phone_track(values: dict[str, Any], path: Path) -> None:
    """Make a relative ``simulators.phone.track`` relative to the profile file."""
    simulators = values.get("simulators")
    if not isinstance(simulators, dict):
        return
    phone = simulators.get("phone")
    if not isinstance(phone, dict):
        return
    track = phone.get("track")
    if isinstance(track, str) and track and not Path(track).is_absolute():
        phone["track"] = str(path.parent / track)


def _configuration_error(
    error: ValidationError,
    overrides: Mapping[str, Any],
    values: Mapping[str, Any],
    path: Path | None,
    overrides_label: str,
) -> ConfigurationError:
    """Translate a pydantic ValidationError into one ConfigurationError.

    The message lists every failed key with its source. The ``key`` and
    ``source`` attributes describe the first failure.
    """
    lines = []
    first: tuple[str, Path | str] | None = None
    for item in error.errors():
        location = tuple(str(part) for part in item["loc"])
        key = ".".join(location) or "(settings)"
        label, source = _source_of(location, overrides, values, path)
        if source == "overrides":
            label = overrides_label
        if item["type"] == "extra_forbidden":
            reason = f"unknown key{_suggestion(location)}"
        else:
            reason = f"{item['msg']} (got {_shorten(item.get('input'))})"
        lines.append(f"{key!r} from {label}: {reason}")
        if first is None:
            first = (key, source)
    exception = ConfigurationError("invalid settings: " + "; ".join(lines))
    if first is not None:
        exception.key, exception.source = first
    return exception


def _shorten(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _source_of(
    location: Sequence[str],
    overrides: Mapping[str, Any],
    values: Mapping[str, Any],
    path: Path | None,
) -> tuple[str, Path | str]:
    """Return a label and the source of the value at ``location``.

    Sources are checked from the highest precedence down. The source is the
    profile's Path, the environment variable's name, or a word for the others.
    """
    if _lookup(overrides, location):
        return "keyword overrides", "overrides"
    for depth in range(len(location), 0, -1):
        variable = _ENV_PREFIX + _ENV_DELIMITER.join(location[:depth]).upper()
        if any(name.upper() == variable for name in os.environ):
            return f"environment variable {variable}", variable
    if path is not None and _lookup(values, location):
        return f"profile {path}", path
    return "defaults", "defaults"


def _lookup(values: Mapping[str, Any], location: Sequence[str]) -> bool:
    current: Any = values
    for part in location:
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return True


def _suggestion(location: Sequence[str]) -> str:
    """Return ' (did you mean ...?)' for an unknown key, or a list of known keys."""
    model: type[BaseModel] = LoomliteSettings
    for part in location[:-1]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    known = list(model.model_fields)
    close = difflib.get_close_matches(location[-1], known, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known keys: {', '.join(known)}"


def changed_keys(old: BaseModel, new: BaseModel, prefix: str = "") -> list[str]:
    """Return the dotted keys whose values differ between two settings objects."""
    changed: list[str] = []
    for name in type(old).model_fields:
        before, after = getattr(old, name), getattr(new, name)
        key = f"{prefix}{name}"
        if isinstance(before, BaseModel) and isinstance(after, BaseModel):
            changed.extend(changed_keys(before, after, f"{key}."))
        elif before != after:
            changed.append(key)
    return changed


async def watch_profile(
    profile: str | Path,
    *,
    stop_event: anyio.Event | None = None,
    debounce_ms: int = 200,
    **overrides: Any,
) -> AsyncIterator[LoomliteSettings]:
    """Yield new settings each time the profile file changes to a valid edit.

    The profile must be valid at the start (ConfigurationError otherwise).
    An invalid edit is logged as an error and skipped, so the caller keeps
    its previous settings. Changed keys listed in RESTART_KEYS are logged as
    a warning because they apply only at the next start. The iteration ends
    when ``stop_event`` is set.
    """
    # Imported here because watchfiles also imports multiprocessing, and
    # `loomlite up` does not watch its profile.
    from watchfiles import Change, awatch

    path = find_profile(profile).resolve()
    current = load_settings(path, **overrides)
    # The directory is watched, not the file, because editors often save by
    # writing a new file and renaming it over the old one.
    changes = awatch(
        path.parent,
        watch_filter=lambda _change, name: Path(name) == path,
        stop_event=stop_event,
        debounce=debounce_ms,
        recursive=False,
    )
    async for batch in changes:
        if all(change is Change.deleted for change, _ in batch):
            logger.error("profile %s was deleted; keeping the current settings", path)
            continue
        try:
            settings = load_settings(path, **overrides)
        except ConfigurationError as exc:
            logger.error("rejected the edit of profile %s: %s", path, exc)
            continue
        keys = changed_keys(current, settings)
        if not keys:
            continue
        restart = [key for key in keys if key.split(".")[0] in RESTART_KEYS]
        if restart:
            logger.warning(
                "profile %s changed %s, which apply only after a restart",
                path,
                ", ".join(restart),
            )
        logger.info("profile %s reloaded; changed %s", path, ", ".join(keys))
        current = settings
        yield settings
