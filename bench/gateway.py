"""The gateway's ingestion rate under load from a second process (bench/gateway_load.py), beside the raw aiokafka produce rate of the same run (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.common import PARTITIONS, build_requests
from streams.catalog import TopicSpec, pipeline_topic_specs
from streams.settings import Settings
from streams.supervisor import Supervisor
from streams.transport.admin import ensure_topics
from streams.transport.broker import free_port


@dataclass
class GatewayResult:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    statuses: dict


async def raw_produce(bootstrap: str, count: int, concurrency: int) -> tuple[float, float]:
    """Raw aiokafka produce rate on one topic: (batched futures, `concurrency` concurrent send_and_wait)."""
    topic = f"produce-{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [TopicSpec(topic, PARTITIONS)])
    value = build_requests(1, "p")[0][2]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value=value, key=str(number).encode()) for number in range(count)]
        await asyncio.gather(*futures)
        batched = count / (time.perf_counter() - started)
        numbers = iter(range(count))

        async def sender() -> None:
            for number in numbers:
                await producer.send_and_wait(topic, value=value, key=str(number).encode())

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        concurrent = count / (time.perf_counter() - started)
    finally:
        await producer.stop()
    return batched, concurrent


async def gateway_throughput(broker_url: str, log_dir: Path, count: int, concurrency: int) -> list[GatewayResult]:
    run = uuid.uuid4().hex[:6]
    secret = f"bench-secret-{run}-0123456789"
    settings = Settings(
        broker_url=broker_url,
        broker_kind="embedded",
        topic_prefix=f"gw{run}.",
        app_id=f"gw-{run}",
        partitions=PARTITIONS,
        gateway_port=free_port(),
        smtp_port=0,
        worker_port=free_port(),
        log_level="warning",
        single_record_batches=False,
        app_secret=secret,
        allow_anonymous_writes_insecure=True,
    )
    await ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings))
    supervisor = Supervisor(settings, log_dir=log_dir)
    supervisor.spawn("gateway", "gateway")
    results = []
    try:
        await asyncio.to_thread(supervisor.wait_until, "gateway", supervisor.gateway_ready, 60)
        base = f"http://{settings.gateway_host}:{settings.gateway_port}"
        for name, kind, path in (
            ("gateway, signed app webhook", "webhook", "/v1/channels/app/webhook"),
            ("gateway, generic JSON request", "generic", "/v1/requests/app"),
        ):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.gateway_load",
                base + path,
                "--requests",
                str(count),
                "--concurrency",
                str(concurrency),
                "--kind",
                kind,
                env={**os.environ, "BENCH_SECRET": secret},
                stdout=subprocess.PIPE,
            )
            output, _ = await asyncio.wait_for(process.communicate(), 600)
            load = json.loads(output)
            if load["accepted"] != count:
                raise RuntimeError(f"{name}: only {load['accepted']} of {count} accepted: {load['statuses']}")
            results.append(
                GatewayResult(
                    name, load["requests_per_second"], load["p50_ms"], load["p99_ms"], count, load["statuses"]
                )
            )
    finally:
        supervisor.stop()
    return results
