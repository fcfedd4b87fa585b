"""Where a key lives: Kafka's default partitioner (murmur2), which places tickets, customers and
departments alike (docs/architecture.md)."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
