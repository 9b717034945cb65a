"""Brokers with Kafka semantics: partition logs, consumer groups, offsets."""

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

__all__ = [
    "Broker",
    "BrokerState",
    "BrokerStatistics",
    "Consumer",
    "GroupPartitionStatistics",
    "Header",
    "OffsetReset",
    "PartitionStatistics",
    "Record",
    "RecordMetadata",
    "RetentionPolicy",
    "TopicConfig",
    "TopicPartition",
    "TopicStatistics",
]
