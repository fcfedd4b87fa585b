"""Publishing to Kafka with an acknowledgement (acks=all), for the gateway and the tools.

`publish` returns only once the broker has the record, and raises `PublishError` when it
cannot within the timeout — the caller then answers 503, never a silent drop.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


class PublishError(RuntimeError):
    pass


class KafkaPublisher:
    def __init__(
        self,
        bootstrap: str,
        *,
        linger_ms: int = 5,
        timeout: float = 10.0,
        single_record_batches: bool = False,
        client_id: str = "ticketflow-gateway",
        max_record_bytes: int = 1_000_000,
    ) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            linger_ms=linger_ms,
            request_timeout_ms=int(timeout * 1000),
            max_batch_size=1 if single_record_batches else 16384,
            enable_idempotence=False,
            max_request_size=max_record_bytes + 64 * 1024,  # the record, its key and the request's framing
        )
        self._started = False

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._producer.start(), self.timeout)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            raise PublishError(f"cannot connect to Kafka at {self.bootstrap}: {exc!r}") from exc
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        try:
            await asyncio.wait_for(self._producer.send_and_wait(topic, value=value, key=key), self.timeout)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            raise PublishError(f"broker did not acknowledge the record for {topic}: {exc!r}") from exc

    async def missing_topics(self, topics: list[str], timeout: float = 3.0) -> list[str]:
        """Which of `topics` the cluster does not know (raises PublishError if unreachable)."""
        client = self._producer.client
        try:
            metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            raise PublishError(f"broker unreachable: {exc!r}") from exc
        known = metadata.topics()
        return [topic for topic in topics if topic not in known]
