"""The loomlite pytest plugin, registered through the ``pytest11`` entry point.

Options:

- ``--loomlite-profile NAME`` sets the settings profile of test pipelines
  (default ``ci``).
- ``--loomlite-broker KIND`` runs every test that uses a loomlite fixture on
  that broker (``memory`` or ``durable``); repeat it to run each test on
  several. Without it, a test runs on the brokers that its
  ``loomlite_brokers`` marker lists, or on ``memory``.

Fixtures:

- ``loomlite_broker``: the broker kind of this test run.
- ``loomlite_pipeline``: a factory that takes ``pipeline`` arguments and
  fills in the profile, the broker and a state directory under ``tmp_path``.
- ``loomlite_runtime``: a running pipeline with the default components.
- ``loomlite_clock``: the manual clock of ``loomlite_runtime``.

Async tests and fixtures run through anyio's pytest plugin, so mark tests
with ``@pytest.mark.anyio``.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from loomlite.clock import ManualClock
    from loomlite.testing._pipeline import Pipeline

__all__ = [
    "loomlite_broker",
    "loomlite_clock",
    "loomlite_pipeline",
    "loomlite_runtime",
]

# Kept here instead of imported, so that loading the plugin imports nothing
# heavy; a test checks that it equals loomlite.testing.BROKER_KINDS.
_BROKER_KINDS = ("memory", "durable")
_DEFAULT_PROFILE = "ci"
_MARKER = "loomlite_brokers"
# Fixtures that need the test to run in an event loop. A test that requests
# loomlite_clock gets loomlite_runtime too, so the check covers both.
_ASYNC_FIXTURES = ("loomlite_runtime",)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("loomlite", "loomlite test pipelines")
    group.addoption(
        "--loomlite-profile",
        default=_DEFAULT_PROFILE,
        help="settings profile of loomlite test pipelines (default: %(default)s)",
    )
    group.addoption(
        "--loomlite-broker",
        action="append",
        choices=_BROKER_KINDS,
        default=None,
        help=(
            "broker of loomlite test pipelines; repeat to run each test on "
            "several (default: the brokers of a test's loomlite_brokers "
            "marker, else memory)"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(*kinds): run the test on each listed loomlite broker "
        "(memory, durable) unless --loomlite-broker is given",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    # pytest hands a plain test an async fixture's unawaited generator and
    # only warns, so such a test would pass without running the pipeline.
    test = getattr(item, "obj", None)
    if test is None or inspect.iscoroutinefunction(test):
        return
    fixtures = getattr(item, "fixturenames", ())
    for name in _ASYNC_FIXTURES:
        if name in fixtures:
            pytest.fail(
                f"{item.nodeid} uses the async fixture {name}: make the test "
                "'async def' and mark it with @pytest.mark.anyio",
                pytrace=False,
            )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "loomlite_broker" not in metafunc.fixturenames:
        return
    kinds = _broker_kinds(metafunc)
    metafunc.parametrize("loomlite_broker", kinds, ids=[f"broker-{k}" for k in kinds])


def _broker_kinds(metafunc: pytest.Metafunc) -> list[str]:
    chosen: list[str] | None = metafunc.config.getoption("--loomlite-broker")
    if chosen:
        return list(dict.fromkeys(chosen))
    marker = metafunc.definition.get_closest_marker(_MARKER)
    if marker is None:
        return ["memory"]
    kinds = list(marker.args) or list(_BROKER_KINDS)
    unknown = [kind for kind in kinds if kind not in _BROKER_KINDS]
    if unknown:
        # Fail collection without a traceback, because the mistake is in the
        # test's marker and not in the plugin.
        pytest.fail(
            f"invalid broker {unknown[0]!r} in the {_MARKER} marker of "
            f"{metafunc.definition.nodeid}: expected {', '.join(_BROKER_KINDS)}",
            pytrace=False,
        )
    return kinds


@pytest.fixture
def loomlite_broker() -> str:
    """The broker kind of this test run; ``pytest_generate_tests`` sets it."""
    return "memory"


@pytest.fixture
def loomlite_pipeline(
    request: pytest.FixtureRequest, loomlite_broker: str, tmp_path: Path
) -> Callable[..., Pipeline]:
    """Return a factory of test pipelines on this run's profile and broker.

    Each call gets its own state directory under ``tmp_path``, so a test may
    build several pipelines. Arguments are those of
    ``loomlite.testing.pipeline`` and win over the defaults.
    """
    from loomlite.testing._pipeline import pipeline

    profile = request.config.getoption("--loomlite-profile")
    counter = itertools.count()

    def make(*args: Any, **kwargs: Any) -> Pipeline:
        if not args and "settings" not in kwargs:
            kwargs.setdefault("profile", profile)
        kwargs.setdefault("broker", loomlite_broker)
        kwargs.setdefault("state_dir", tmp_path / f"pipeline-{next(counter)}")
        return pipeline(*args, **kwargs)

    return make


@pytest.fixture
async def loomlite_runtime(
    loomlite_pipeline: Callable[..., Pipeline],
) -> AsyncIterator[Pipeline]:
    """A running test pipeline with the default components."""
    async with loomlite_pipeline() as running:
        yield running


@pytest.fixture
def loomlite_clock(loomlite_runtime: Pipeline) -> ManualClock:
    """The manual clock of ``loomlite_runtime``."""
    return loomlite_runtime.clock
