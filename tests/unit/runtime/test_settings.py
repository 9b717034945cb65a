"""Settings precedence, profile lookup, validation errors and profile reload."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from loomlite.errors import ConfigurationError
from loomlite.runtime.profiles import (
    available_profiles,
    changed_keys,
    find_profile,
    load_settings,
    watch_profile,
)
from loomlite.runtime.settings import LoomliteSettings


def write_profile(tmp_path: Path, text: str, name: str = "custom") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_profile() -> None:
    settings = load_settings()

    assert settings.profile is None
    assert settings.broker == "memory"
    assert settings.clock == "real"
    assert settings.db_url == "sqlite:///state/loomlite.db"
    assert settings.components.ai.enabled
    assert settings.components.persist.flush_interval == 0.0


def test_negative_flush_interval_is_rejected() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(components={"persist": {"flush_interval": -0.1}})

    assert caught.value.key == "components.persist.flush_interval"
    assert "-0.1" in str(caught.value)


def test_db_url_follows_state_dir(tmp_path: Path) -> None:
    settings = load_settings(state_dir=tmp_path / "run")

    assert settings.db_url == f"sqlite:///{tmp_path.as_posix()}/run/loomlite.db"


@pytest.mark.parametrize("name", ["ci", "demo", "full", "minimal"])
def test_shipped_profile_loads(name: str) -> None:
    settings = load_settings(name)

    assert settings.profile == name
    assert name in available_profiles()


def test_ci_profile_values() -> None:
    settings = load_settings("ci")

    assert settings.clock == "manual"
    assert settings.start == datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
    assert settings.seed == 1234
    assert settings.supervisor.restart_initial_delay == 0.01


def test_profile_by_path(tmp_path: Path) -> None:
    path = write_profile(tmp_path, 'broker = "durable"\nseed = 3\n')

    settings = load_settings(path)

    assert settings.profile == "custom"
    assert settings.broker == "durable"
    assert settings.seed == 3


def test_env_overrides_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMLITE_SEED", "99")
    monkeypatch.setenv("LOOMLITE_COMPONENTS__AI__BACKEND", "real")

    settings = load_settings("ci")

    assert settings.seed == 99
    assert settings.components.ai.backend == "real"
    assert settings.clock == "manual"


def test_overrides_beat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMLITE_SEED", "99")

    settings = load_settings("ci", seed=5, components={"ai": {"enabled": False}})

    assert settings.seed == 5
    assert not settings.components.ai.enabled
    assert settings.components.persist.enabled


def test_profile_from_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMLITE_PROFILE", "demo")

    settings = load_settings()

    assert settings.profile == "demo"
    assert settings.clock == "accelerated"


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, '[components.ai]\nbakend = "real"\n')

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.key == "components.ai.bakend"
    assert caught.value.source == path
    assert "'components.ai.bakend'" in str(caught.value)
    assert str(path) in str(caught.value)
    assert "did you mean 'backend'" in str(caught.value)


def test_unknown_component_section_is_rejected(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "[components.enrch]\nenabled = false\n")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.key == "components.enrch"
    assert "did you mean 'enrich'" in str(caught.value)


def test_bad_value_names_key_and_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "[supervisor]\ndrain_timeout = -1\n")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.key == "supervisor.drain_timeout"
    assert caught.value.source == path
    assert str(path) in str(caught.value)
    assert "greater than 0" in str(caught.value)


def test_bad_env_value_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMLITE_SPEED", "fast")

    with pytest.raises(ConfigurationError) as caught:
        load_settings("demo")

    assert caught.value.key == "speed"
    assert caught.value.source == "LOOMLITE_SPEED"
    assert "environment variable LOOMLITE_SPEED" in str(caught.value)


def test_unknown_env_key_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMLITE_COMPONENTS__AI__COLOUR", "blue")

    with pytest.raises(ConfigurationError) as caught:
        load_settings()

    assert caught.value.key == "components.ai.colour"
    assert caught.value.source == "LOOMLITE_COMPONENTS__AI__COLOUR"


def test_bad_broker_is_rejected() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(broker="rabbit")

    assert caught.value.key == "broker"
    assert "'memory', 'durable' or a URL" in str(caught.value)


def test_manual_clock_needs_start(tmp_path: Path) -> None:
    path = write_profile(tmp_path, 'clock = "manual"\n')

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.key == "start"
    assert "clock 'manual' needs 'start'" in str(caught.value)


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "seed = = 3\n")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.source == path
    assert "invalid TOML" in str(caught.value)


def test_non_utf8_profile_names_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe seed = 3\n")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.source == path
    assert "not UTF-8" in str(caught.value)


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(seed=-1)

    assert caught.value.key == "seed"
    assert "-1" in str(caught.value)


def test_unknown_profile_lists_available() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings("nosuch")

    message = str(caught.value)
    assert "unknown profile 'nosuch'" in message
    for name in ("ci", "demo", "full", "minimal"):
        assert name in message


def test_missing_profile_file_is_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        find_profile(tmp_path / "absent.toml")


def test_api_key_is_secret() -> None:
    settings = load_settings(api_key="hunter2")

    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)


def test_changed_keys_lists_dotted_paths() -> None:
    old = LoomliteSettings()
    new = LoomliteSettings(seed=4, components={"monitor": {"interval": 1.0}})

    assert changed_keys(old, new) == ["seed", "components.monitor.interval"]


class _ErrorSignal(logging.Handler):
    """Sets an event when an ERROR record arrives, so a test can wait for it."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.event = anyio.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.event.set()


@pytest.mark.anyio
async def test_watch_profile_reloads_edits(tmp_path: Path) -> None:
    path = write_profile(tmp_path, 'log_level = "INFO"\n')
    signal = _ErrorSignal()
    profile_logger = logging.getLogger("loomlite.runtime.profiles")
    profile_logger.addHandler(signal)
    stop = anyio.Event()
    seen: list[LoomliteSettings] = []

    async def watch() -> None:
        async for settings in watch_profile(path, stop_event=stop, debounce_ms=50):
            seen.append(settings)
            stop.set()

    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                # Once every task is blocked, the watcher thread is registered.
                await anyio.wait_all_tasks_blocked()
                path.write_text('log_level = "LOUD"\n', encoding="utf-8")
                await signal.event.wait()
                path.write_text('log_level = "DEBUG"\n', encoding="utf-8")
    finally:
        profile_logger.removeHandler(signal)

    assert len(signal.messages) == 1
    assert "rejected the edit" in signal.messages[0]
    assert "'log_level'" in signal.messages[0]
    assert [settings.log_level for settings in seen] == ["DEBUG"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600.0), ("90s", 90.0), ("1h30m", 5400.0), ("PT30M", 1800.0)],
)
def test_env_duration_forms(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: float
) -> None:
    monkeypatch.setenv("LOOMLITE_DURATION", text)

    settings = load_settings("ci")

    assert settings.duration is not None
    assert settings.duration.total_seconds() == seconds


@pytest.mark.parametrize("text", ['"PT0S"', '"-PT60S"', "0", "-5"])
def test_non_positive_duration_is_rejected(tmp_path: Path, text: str) -> None:
    path = write_profile(tmp_path, f"duration = {text}\n")

    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)

    assert caught.value.key == "duration"
    assert "more than 0 seconds" in str(caught.value)


def test_duration_past_year_9999_is_rejected() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings("ci", duration="99999999d")

    assert caught.value.key == "duration"
    assert "after year 9999" in str(caught.value)
    assert "2025-06-02T07:00:00+00:00" in str(caught.value)


def test_malformed_nested_env_json_is_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOOMLITE_HTTP", "{bad")

    with pytest.raises(ConfigurationError) as caught:
        load_settings("ci")

    assert caught.value.source == "LOOMLITE_HTTP"
    assert "LOOMLITE_HTTP" in str(caught.value)
    assert "JSON object" in str(caught.value)
