"""Publishing to Kafka with an acknowledgement (acks=all), for the gateway and the tools.

`publish` returns only once the broker has the record, and raises `PublishError` when it
cannot within the timeout — the caller then answers 503, never a silent drop.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    pass


class KafkaPublisher:
    """`start` connects once (PublishError when it cannot); `connect_in_background` keeps trying
    until it can, so a gateway started before its broker answers 503 until the broker is there."""

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
        self._options = dict(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            linger_ms=linger_ms,
            request_timeout_ms=int(timeout * 1000),
            max_batch_size=1 if single_record_batches else 16384,
            enable_idempotence=False,
            max_request_size=max_record_bytes + 64 * 1024,  # the record, its key and the request's framing
        )
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        producer = AIOKafkaProducer(**self._options)
        try:
            await asyncio.wait_for(producer.start(), self.timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            await _quietly_stop(producer)
            raise PublishError(f"cannot connect to Kafka at {self.bootstrap}: {exc!r}") from exc
        self._producer = producer

    def connect_in_background(self, retry_seconds: float = 2.0) -> None:
        """Start connecting; retried every `retry_seconds` until connected or stopped."""

        async def keep_trying() -> None:
            while self._producer is None:
                try:
                    await self.start()
                except PublishError as exc:
                    log.warning("broker not reachable yet (%s); retrying in %gs", exc, retry_seconds)
                    await asyncio.sleep(retry_seconds)

        self._connecting = asyncio.ensure_future(keep_trying())

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly_stop(producer, self.timeout)

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        producer = self._producer
        if producer is None:
            raise PublishError(f"not connected to the broker at {self.bootstrap} yet")
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, value=value, key=key), self.timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise PublishError(f"broker did not acknowledge the record for {topic}: {exc!r}") from exc

    async def missing_topics(self, topics: list[str], timeout: float = 3.0) -> list[str]:
        """Which of `topics` the cluster does not know (raises PublishError if unreachable)."""
        if self._producer is None:
            raise PublishError("not connected to the broker yet")
        client = self._producer.client
        try:
            metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise PublishError(f"broker unreachable: {exc!r}") from exc
        known = metadata.topics()
        return [topic for topic in topics if topic not in known]


async def _quietly_stop(producer: AIOKafkaProducer, timeout: float = 5.0) -> None:
    """Stop a producer without waiting for ever on a broker that is gone."""
    try:
        await asyncio.wait_for(producer.stop(), timeout)
    except (TimeoutError, KafkaError, OSError, RuntimeError):
        pass
