"""loomlite: the Loom pipeline in one Python process."""

from loomlite.clock import AcceleratedClock, Clock, ManualClock, SystemClock
from loomlite.errors import (
    BrokerError,
    ComponentError,
    ConfigurationError,
    ContractError,
    LifecycleError,
    LoomliteError,
    MessageValidationError,
    SinkError,
    TopologyError,
    UnknownTopicError,
)

__version__ = "0.1.0"

__all__ = [
    "AcceleratedClock",
    "BrokerError",
    "Clock",
    "ComponentError",
    "ConfigurationError",
    "ContractError",
    "LifecycleError",
    "LoomliteError",
    "ManualClock",
    "MessageValidationError",
    "SinkError",
    "SystemClock",
    "TopologyError",
    "UnknownTopicError",
    "__version__",
]
