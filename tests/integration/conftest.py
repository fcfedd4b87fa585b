"""Integration helpers: run the worker and gateway as real processes against the session's embedded
broker (the `broker` fixture of tests/conftest.py) and read topics with real clients."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.settings import Settings
from streams.supervisor import Supervisor
from streams.transport.broker import EmbeddedBroker, free_port

_prefixes = itertools.count(1)


# The write token the integration stacks accept (client "it"), and the header that sends it.
API_TOKEN = "integration-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def stack_settings(broker: EmbeddedBroker, policy_file: Path | None = None, **overrides) -> Settings:
    """Settings for one isolated pipeline on the shared broker: own topic prefix, app id and ports."""
    number = next(_prefixes)
    values = dict(
        broker_url=broker.bootstrap,
        broker_kind="embedded",
        topic_prefix=f"it{number}.",
        app_id=f"it{number}-{uuid.uuid4().hex[:8]}",
        partitions=4,
        session_timeout=3.0,
        commit_interval=0.5,
        fetch_max_wait_ms=20,
        sla_tick_seconds=0.1,
        gateway_port=free_port(),
        smtp_port=free_port(),
        worker_port=free_port(),
        policy_file=policy_file,
        log_level="info",
        api_tokens=f"it:{API_TOKEN}",
    )
    values.update(overrides)
    return Settings(**values)


class TopicTail:
    """Reads topics from the beginning with an independent aiokafka consumer (no group),
    in a background thread, and keeps every record."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self._records: dict[str, list] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"topic reader did not start: {self._error!r}")

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            partitions = []
            for topic in self.topics:
                for partition in sorted(
                    consumer.partitions_for_topic(topic) or await self._partitions(consumer, topic)
                ):
                    partitions.append(TopicPartition(topic, partition))
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self._ready.set()
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                with self._lock:
                    for tp, records in batches.items():
                        self._records[tp.topic].extend(records)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._error = exc
            self._ready.set()
        finally:
            await consumer.stop()

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
        if not found:
            raise RuntimeError(f"topic {topic} does not exist")
        return found

    def records(self, topic: str) -> list:
        if self._error is not None:
            raise RuntimeError(f"topic reader failed: {self._error!r}")
        with self._lock:
            return list(self._records[topic])

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        assert condition(), f"timed out after {timeout:.0f}s waiting for {what}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def post_json(url: str, body: dict) -> dict:
    """POST a JSON body to the gateway; the answer must be 202 (accepted)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **AUTH}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.status
        return json.load(response)


def start_stack(settings: Settings, log_dir: Path, *, gateway: bool = True) -> Supervisor:
    """Worker (and gateway) as real processes; topics created first, as `ticketflow up` does."""
    from streams.catalog import pipeline_topic_specs
    from streams.transport.admin import ensure_topics

    asyncio.run(ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings)))
    supervisor = Supervisor(settings, log_dir=log_dir)
    supervisor.spawn("worker", "worker")
    if gateway:
        supervisor.spawn("gateway", "gateway")
        supervisor.wait_until("gateway", supervisor.gateway_ready, timeout=60)
    supervisor.wait_until("worker", supervisor.worker_ready, timeout=90)
    return supervisor
