"""End offsets read right on the embedded broker, whose ListOffsets(latest) stops at the last
batch's first record (streams/transport/end_offsets.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.catalog import TopicSpec
from streams.transport.admin import ensure_topics
from streams.transport.end_offsets import true_end_offsets

pytestmark = pytest.mark.integration


def test_the_end_offset_counts_every_record_of_the_last_batch(broker):
    async def main():
        topic = "end-offsets-batched"
        await ensure_topics(broker.bootstrap, [TopicSpec(topic, 2)])
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
        await producer.start()
        try:
            for _ in range(3):  # three batches of ten records on partition 0, nothing on partition 1
                await asyncio.gather(*[await producer.send(topic, b"x", partition=0) for _ in range(10)])
        finally:
            await producer.stop()
        partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
        await consumer.start()
        try:
            reported = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        return reported, await true_end_offsets(broker.bootstrap, reported)

    reported, ends = asyncio.run(main())
    p0, p1 = TopicPartition("end-offsets-batched", 0), TopicPartition("end-offsets-batched", 1)
    assert reported[p0] < 30  # the broker's answer this module works around
    assert ends == {p0: 30, p1: 0}
