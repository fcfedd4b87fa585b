"""faust's aiokafka transport with a configurable consumer fetch wait.

faust hard-codes `fetch_max_wait_ms=1500` for worker consumers. End-to-end latency follows
that value on brokers that do not answer a waiting fetch early when data arrives (the
embedded broker among them), so a request would wait up to 1.5 s at every hop. This
transport sets it from the app's `fetch_max_wait_ms` (TICKETFLOW_FETCH_MAX_WAIT_MS).
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_max_wait_ms = int(getattr(self.app, "fetch_max_wait_ms", 500))
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
