"""Writing generated records onto a broker's topics with librdkafka, as fast as it takes them (bench/week.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bench.week_shape import (
    DEPARTMENT,
)

if TYPE_CHECKING:
    from bench.week import Record


def produce(bootstrap: str, prefix: str, records: Iterator[Record], partitions: int = 4, log=None) -> dict[str, int]:  # noqa: ANN001
    """Create the topics and write the records (keyed, stamped with their moment, default
    murmur2 partitioning as Kafka's Java client); returns records written per topic (without prefix)."""
    from confluent_kafka import KafkaException, Producer

    from streams.catalog import TopicCatalog, TopicSpec
    from streams.transport.admin import ensure_topics

    catalog = TopicCatalog(prefix)
    names = ["requests.classified", "sla.events", "sla.windows", "followups", "feedback"] + [
        f"dept.{department}" for department in sorted(set(DEPARTMENT.values()) | {"complaint_taskforce", "vip_manager"})
    ]
    asyncio.run(ensure_topics(bootstrap, [TopicSpec(catalog.name(name), partitions) for name in names]))
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "acks": 1,
            "partitioner": "murmur2_random",
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "message.max.bytes": 8_000_000,
        }
    )
    written: dict[str, int] = {}
    failures: list[str] = []

    def delivered(error, _message) -> None:  # noqa: ANN001
        if error is not None:
            failures.append(str(error))

    total = 0
    for record in records:
        while True:
            try:
                producer.produce(
                    catalog.name(record.topic),
                    record.value,
                    key=record.key,
                    timestamp=int(record.at * 1000),
                    on_delivery=delivered,
                )
                break
            except BufferError:
                producer.poll(0.05)
        written[record.topic] = written.get(record.topic, 0) + 1
        total += 1
        if total % 100_000 == 0:
            producer.poll(0)
            if log is not None:
                log(f"  {total:,} records written")
    if producer.flush(120) != 0:
        raise KafkaException("records still not delivered after 120 s")
    if failures:
        raise KafkaException(f"{len(failures)} records not delivered: {failures[0]}")
    return written
