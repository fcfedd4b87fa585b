"""End offsets the embedded broker gets wrong, read right (docs/guarantees.md).

The embedded broker answers ListOffsets(latest) with the *base* offset of a partition's last
record batch + 1, so with normal batching a table restored "up to the end" would stop short of
the last batch's other records. Its fetch answers are right: a fetch at that base offset returns
the whole last batch, whose last record + 1 is the true end. Apache Kafka needs none of this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

FETCH_SECONDS = 5.0


async def true_end_offsets(bootstrap_servers: str, reported: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """The end offset of every partition: the reported one corrected by reading the last batch."""
    ends = dict(reported)
    last_batches = {tp: offset - 1 for tp, offset in reported.items() if offset is not None and offset > 0}
    if not last_batches:
        return ends
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None, client_id="ticketflow-end-offsets"
    )
    await consumer.start()
    try:
        consumer.assign(list(last_batches))
        for tp, base in last_batches.items():
            consumer.seek(tp, base)
        waiting = set(last_batches)
        deadline = time.monotonic() + FETCH_SECONDS
        while waiting and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                if records:
                    ends[tp] = max(ends[tp], records[-1].offset + 1)
                    waiting.discard(tp)
                    consumer.pause(tp)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return ends
