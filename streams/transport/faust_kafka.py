"""faust's aiokafka transport with a configurable consumer fetch wait, and offset commits that
wait for the changelog writes of the records they cover.

faust hard-codes `fetch_max_wait_ms=1500` for worker consumers. End-to-end latency follows
that value on brokers that do not answer a waiting fetch early when data arrives (the
embedded broker among them), so a request would wait up to 1.5 s at every hop. This
transport sets it from the app's `fetch_max_wait_ms` (TICKETFLOW_FETCH_MAX_WAIT_MS).

Before faust flushes the producer and commits offsets, the consumer waits for the app's
pending changelog writes (`app.pending_writes`, streams/state/pending_writes.py): a ticket's
state reaches the changelog only after its events, and an offset is committed only after both.
If an event was refused, the consumer crashes instead of committing past it.

On the embedded broker, where table recovery stops is read from the last record batch
(streams/transport/end_offsets.py), so the producer can batch normally there too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.state.pending_writes import PendingWrites, UnacknowledgedEvents
from streams.transport.end_offsets import true_end_offsets


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_max_wait_ms = int(getattr(self.app, "fetch_max_wait_ms", 500))
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """Where table recovery stops: on the embedded broker, read from the last batch
        (streams/transport/end_offsets.py); elsewhere as the broker says."""
        reported = await super()._highwaters(partitions)
        settings = getattr(self.app, "ticketflow", None)
        if settings is None or settings.broker_kind != "embedded":
            return reported
        ends = await true_end_offsets(
            settings.bootstrap_servers,
            {TopicPartition(tp.topic, tp.partition): offset for tp, offset in reported.items()},
        )
        return {TP(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def commit_after_pending_writes(
    pending: Iterable[PendingWrites],
    commit: Callable[[], Awaitable[bool]],
    crash: Callable[[BaseException], Awaitable[None]],
) -> bool:
    """Commit once the pending changelog writes are done; crash (no commit) if an event was refused."""
    try:
        for queue in pending:
            await queue.drain()
    except UnacknowledgedEvents as exc:
        await crash(exc)
        return False
    return await commit()


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _commit_offsets(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        return await commit_after_pending_writes(
            list(getattr(self.app, "pending_writes", ())),
            lambda: super(Consumer, self)._commit_offsets(offsets, start_new_transaction=start_new_transaction),
            self.crash,
        )


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
