"""The runtime: components, subscriptions, topology lint, supervisor, settings.

Build components by subclassing Component and marking handlers with
``@subscribe``, then run them with ``async with Runtime(...)``.
"""

from loomlite.runtime.component import Component
from loomlite.runtime.context import ComponentContext, Context
from loomlite.runtime.profiles import (
    available_profiles,
    find_profile,
    load_settings,
    watch_profile,
)
from loomlite.runtime.runtime import (
    Runtime,
    RuntimeState,
    RuntimeStatistics,
    SinkFactory,
    create_clock,
)
from loomlite.runtime.settings import ComponentSettings, LoomliteSettings
from loomlite.runtime.statistics import (
    ComponentState,
    ComponentStatistics,
    SubscriptionStatistics,
)
from loomlite.runtime.subscription import Subscription, subscribe
from loomlite.runtime.topology import (
    Edge,
    EdgeKind,
    LintReport,
    Node,
    NodeKind,
    Topology,
)

__all__ = [
    "Component",
    "ComponentContext",
    "ComponentSettings",
    "ComponentState",
    "ComponentStatistics",
    "Context",
    "Edge",
    "EdgeKind",
    "LintReport",
    "LoomliteSettings",
    "Node",
    "NodeKind",
    "Runtime",
    "RuntimeState",
    "RuntimeStatistics",
    "SinkFactory",
    "Subscription",
    "SubscriptionStatistics",
    "Topology",
    "available_profiles",
    "create_clock",
    "find_profile",
    "load_settings",
    "subscribe",
    "watch_profile",
]
