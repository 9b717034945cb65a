"""Device and account simulators that read time only from a loomlite clock.

A simulator's ``run(clock, emit, until=...)`` sends production-shaped payloads
to ``emit(topic, payload)`` and records what really happened in its
``truth``. ``run_simulators`` runs several side by side and, on a
ManualClock, moves the clock from one deadline to the next. The same seed
and the same clock readings give byte-identical payloads.
"""

from simulators.base import (
    Emit,
    Message,
    Simulator,
    SimulatorState,
    Source,
    run_simulators,
)
from simulators.config import (
    AccelerometerConfig,
    AudioConfig,
    DesktopConfig,
    GpsConfig,
    PeriodicConfig,
    PhoneConfig,
    ScreenshotConfig,
    ToggleConfig,
)
from simulators.desktop import DesktopSimulator
from simulators.fetchers import (
    Account,
    CalendarAccount,
    EmailAccount,
    FetchedMessage,
    HackerNewsFavorites,
    XLikes,
)
from simulators.ids import IdGenerator, derive_rng, device_uuid
from simulators.phone import PhoneSimulator
from simulators.places import Region
from simulators.scenario import DayPlan, PhoneScenario
from simulators.truth import (
    GroundTruth,
    ItemTruth,
    PlaceVisit,
    ScreenshotTruth,
    UtteranceTruth,
)

__all__ = [
    "AccelerometerConfig",
    "Account",
    "AudioConfig",
    "CalendarAccount",
    "DayPlan",
    "DesktopConfig",
    "DesktopSimulator",
    "EmailAccount",
    "Emit",
    "FetchedMessage",
    "GpsConfig",
    "GroundTruth",
    "HackerNewsFavorites",
    "IdGenerator",
    "ItemTruth",
    "Message",
    "PeriodicConfig",
    "PhoneConfig",
    "PhoneScenario",
    "PhoneSimulator",
    "PlaceVisit",
    "Region",
    "ScreenshotConfig",
    "ScreenshotTruth",
    "Simulator",
    "SimulatorState",
    "Source",
    "ToggleConfig",
    "UtteranceTruth",
    "XLikes",
    "derive_rng",
    "device_uuid",
    "run_simulators",
]
