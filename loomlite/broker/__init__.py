"""Brokers with Kafka semantics: partition logs, consumer groups, offsets.

MemoryBroker keeps everything in this process. DurableBroker keeps the logs
and committed offsets in a SQLite file, so a restart resumes where the
consumer groups left off. ``open_broker`` builds either from a setting.
"""

from loomlite.broker.base import (
    Broker,
    BrokerState,
    BrokerStatistics,
    Consumer,
    GroupPartitionStatistics,
    Header,
    OffsetReset,
    PartitionStatistics,
    Record,
    RecordMetadata,
    RetentionPolicy,
    TopicConfig,
    TopicPartition,
    TopicStatistics,
)
from loomlite.broker.durable import DurableBroker
from loomlite.broker.factory import open_broker
from loomlite.broker.memory import MemoryBroker

__all__ = [
    "Broker",
    "BrokerState",
    "BrokerStatistics",
    "Consumer",
    "DurableBroker",
    "GroupPartitionStatistics",
    "Header",
    "MemoryBroker",
    "OffsetReset",
    "PartitionStatistics",
    "Record",
    "RecordMetadata",
    "RetentionPolicy",
    "TopicConfig",
    "TopicPartition",
    "TopicStatistics",
    "open_broker",
]
