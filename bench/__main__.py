"""`make bench`: the pipeline next to a raw aiokafka pass-through, same messages, same broker.

Both paths read the same raw request envelopes from a topic with the same partition count
and write one record per request; both are timed by the same reader. Two phases each:

- throughput: all requests produced at once; requests/s from the first produce to the last
  record read on the output (department topics for the pipeline);
- latency: requests paced at a fixed rate well below capacity; p50/p99 of the time from
  produce to the output record being read.

Figures are printed as a table with the ratio pipeline / pass-through, and written to
bench-results/pipeline.json. Sizes: BENCH_REQUESTS (default 3000), BENCH_RATE (default 100/s),
BENCH_SECONDS (default 10).

Then the gateway: accepted requests/s over HTTP on loopback, with the load from a second
process (bench/gateway_load.py, BENCH_GATEWAY_REQUESTS, default 3000, BENCH_GATEWAY_CONCURRENCY
in flight, default 32), for a signed app webhook and for the generic endpoint; next to it, in
the same run on the same broker, the raw aiokafka produce rate — batched, and with the same
number of concurrent acknowledged sends (acks=all) as the gateway has requests in flight.

The SLA timer section (bench/sla.py) and the care calendar (bench/care.py) follow;
BENCH_SECTIONS selects sections (default "pipeline,sla,care"; the gateway runs within "pipeline").

Before the pipeline phases, the classification cost per request is measured on its own
(bench/classification.py: µs p50/p99 and requests/s on one core), printed, and recorded in the
same JSON under "classification".
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import classification as classification_bench
from bench import stages as stages_bench
from bench.common import PARTITIONS, build_requests, datetime_now
from bench.gateway import gateway_throughput, raw_produce
from streams import ids
from streams.catalog import TopicCatalog, TopicSpec, pipeline_topic_specs
from streams.settings import Settings
from streams.supervisor import Supervisor
from streams.transport.admin import ensure_topics
from streams.transport.broker import EmbeddedBroker, free_port

FETCH_MAX_WAIT_MS = 50


@dataclass
class Result:
    name: str
    throughput_rps: float
    latency_p50_ms: float
    latency_p99_ms: float
    requests: int
    paced_requests: int


class OutputReader:
    """Reads output topics from the beginning and notes when each key first arrives."""

    def __init__(self, bootstrap: str, topics: list[str], key_of) -> None:  # noqa: ANN001
        self.bootstrap, self.topics, self.key_of = bootstrap, topics, key_of
        self.arrived: dict[bytes, float] = {}
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._ready.wait()

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=FETCH_MAX_WAIT_MS
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(t, p) for t in self.topics for p in range(PARTITIONS)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self._ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        key = self.key_of(record)
                        if key is not None and key not in self.arrived:
                            self.arrived[key] = now
        finally:
            await consumer.stop()

    async def wait_for(self, keys: set[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not keys <= self.arrived.keys():
            if time.monotonic() > deadline:
                missing = len(keys - self.arrived.keys())
                raise RuntimeError(f"{missing} of {len(keys)} requests did not arrive within {timeout:.0f}s")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def produce(bootstrap: str, topic_of, records, rate: float | None = None) -> dict[bytes, float]:  # noqa: ANN001
    """Produce every record, as fast as the client allows or paced at `rate`/s; key → produce time."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5 if rate is None else 0)
    await producer.start()
    sent: dict[bytes, float] = {}
    try:
        started = time.monotonic()
        futures = []
        for number, (channel, key, value) in enumerate(records):
            if rate is not None and (delay := started + number / rate - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            sent[key] = time.time()
            futures.append(await producer.send(topic_of(channel), value=value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


def summarise(name: str, burst_sent, paced_sent, reader: OutputReader) -> Result:  # noqa: ANN001
    first = min(burst_sent.values())
    last = max(reader.arrived[key] for key in burst_sent)
    latencies = sorted((reader.arrived[key] - at) * 1000 for key, at in paced_sent.items())
    return Result(
        name=name,
        throughput_rps=len(burst_sent) / (last - first),
        latency_p50_ms=statistics.median(latencies),
        latency_p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        requests=len(burst_sent),
        paced_requests=len(paced_sent),
    )


async def passthrough(bootstrap: str, burst, paced, rate: float) -> Result:  # noqa: ANN001
    source, sink = f"pt-in-{uuid.uuid4().hex[:6]}", f"pt-out-{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [TopicSpec(source, PARTITIONS), TopicSpec(sink, PARTITIONS)])

    async def forward() -> None:
        consumer = AIOKafkaConsumer(
            source,
            bootstrap_servers=bootstrap,
            group_id=f"pt-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            session_timeout_ms=6000,
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await consumer.start()
        await producer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=100)
                futures = [await producer.send(sink, value=r.value, key=r.key) for rs in batches.values() for r in rs]
                if futures:
                    await asyncio.gather(*futures)
                    await consumer.commit()
        finally:
            await producer.stop()
            await consumer.stop()

    reader = OutputReader(bootstrap, [sink], key_of=lambda record: record.key)
    await reader.start()
    forwarder = asyncio.create_task(forward())
    try:
        await asyncio.sleep(5)  # group join
        burst_sent = await produce(bootstrap, lambda channel: source, burst)
        await reader.wait_for(set(burst_sent), timeout=300)
        paced_sent = await produce(bootstrap, lambda channel: source, paced, rate)
        await reader.wait_for(set(paced_sent), timeout=120)
    finally:
        forwarder.cancel()
        await asyncio.gather(forwarder, return_exceptions=True)
        await reader.stop()
    return summarise("raw aiokafka pass-through", burst_sent, paced_sent, reader)


def _owner_ticket(record) -> bytes | None:  # noqa: ANN001
    event = json.loads(record.value)
    return record.key if event.get("data", {}).get("role") == "owner" else None


async def pipeline(settings: Settings, burst, paced, rate: float, log_dir: Path, name: str) -> Result:  # noqa: ANN001
    catalog = TopicCatalog(settings.topic_prefix)
    await ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings))
    supervisor = Supervisor(settings, log_dir=log_dir)
    supervisor.spawn("worker", "worker")
    try:
        await asyncio.to_thread(supervisor.wait_until, "worker", supervisor.worker_ready, 120)
        departments = [catalog.department(name) for name in settings.routing.departments]
        reader = OutputReader(settings.bootstrap_servers, departments, key_of=_owner_ticket)
        await reader.start()
        ticket_of = {key: ids.ticket_id(channel, key.decode()).encode() for channel, key, _ in burst + paced}
        try:
            burst_sent = await produce(settings.bootstrap_servers, catalog.raw, burst)
            burst_sent = {ticket_of[key]: at for key, at in burst_sent.items()}
            await reader.wait_for(set(burst_sent), timeout=600)
            paced_sent = await produce(settings.bootstrap_servers, catalog.raw, paced, rate)
            paced_sent = {ticket_of[key]: at for key, at in paced_sent.items()}
            await reader.wait_for(set(paced_sent), timeout=120)
        finally:
            await reader.stop()
    finally:
        supervisor.stop()
    return summarise(name, burst_sent, paced_sent, reader)


def worker_rss_mb(settings: Settings) -> float | None:
    try:
        with urllib.request.urlopen(f"http://{settings.worker_host}:{settings.worker_port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("process_resident_memory_bytes"):
                    return float(line.split()[-1]) / 2**20
    except OSError:
        return None
    return None


async def main() -> None:
    count = int(os.environ.get("BENCH_REQUESTS", "3000"))
    rate = float(os.environ.get("BENCH_RATE", "100"))
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    paced_count = int(rate * seconds)
    cost = classification_bench.measure()
    print(classification_bench.render(cost), flush=True)
    stage_cost = stages_bench.measure(count)
    print(
        f"stage code in-process (normalize + classify + lifecycle, memory stores): "
        f"{stage_cost.requests_per_second:.0f} requests/s, {stage_cost.us_per_request:.0f} µs per request "
        f"(normalize {stage_cost.normalize_us:.0f}, classify {stage_cost.classify_us:.0f}, "
        f"lifecycle {stage_cost.lifecycle_us:.0f})",
        flush=True,
    )
    log_dir = Path(tempfile.mkdtemp(prefix="ticketflow-bench-"))
    broker = EmbeddedBroker(port=0, log_path=log_dir / "broker.log").start()
    try:
        print(
            f"embedded broker {broker.bootstrap}; {count} requests burst, {paced_count} paced at {rate:g}/s; "
            f"{PARTITIONS} partitions; logs {log_dir}",
            flush=True,
        )
        results = []
        for variant, single_batches in (
            ("pipeline (one record per batch, on request)", True),
            ("pipeline (normal batching, the default)", False),
        ):
            run = uuid.uuid4().hex[:6]
            settings = Settings(
                broker_url=broker.bootstrap,
                broker_kind="embedded",
                topic_prefix=f"bench{run}.",
                app_id=f"bench-{run}",
                partitions=PARTITIONS,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                session_timeout=6.0,
                worker_port=free_port(),
                gateway_port=free_port(),
                log_level="warning",
                single_record_batches=single_batches,
                state_dir=log_dir / "state",
            )
            print(f"running {variant} …", flush=True)
            results.append(
                await pipeline(
                    settings, build_requests(count, run), build_requests(paced_count, run + "p"), rate, log_dir, variant
                )
            )
        print("running raw aiokafka pass-through …", flush=True)
        run = uuid.uuid4().hex[:6]
        baseline = await passthrough(
            broker.bootstrap, build_requests(count, run), build_requests(paced_count, run + "p"), rate
        )
        gateway_count = int(os.environ.get("BENCH_GATEWAY_REQUESTS", "3000"))
        concurrency = int(os.environ.get("BENCH_GATEWAY_CONCURRENCY", "32"))
        print(
            f"running the gateway under load from a second process ({gateway_count} requests, {concurrency} in "
            "flight) and the raw produce rate …",
            flush=True,
        )
        gateway = await gateway_throughput(broker.bootstrap, log_dir, gateway_count, concurrency)
        produce_batched, produce_concurrent = await raw_produce(broker.bootstrap, gateway_count, concurrency)
    finally:
        broker.stop()

    print()
    header = f"{'path':<46}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for result in [baseline, *results]:
        ratio = result.throughput_rps / baseline.throughput_rps
        print(
            f"{result.name:<46}{result.throughput_rps:>9.0f}{ratio:>8.3f}{result.latency_p50_ms:>9.1f}"
            f"{result.latency_p99_ms:>9.1f}"
        )
    print(
        f"{'stage code in-process (no faust, no broker)':<46}{stage_cost.requests_per_second:>9.0f}"
        f"{stage_cost.requests_per_second / baseline.throughput_rps:>8.3f}"
    )
    print("\nratio = throughput / raw pass-through throughput, same broker, same messages, same run.")
    for result in results:
        print(
            f"{result.name}: {result.throughput_rps / stage_cost.requests_per_second:.3f} of the in-process stage rate"
        )
    print()
    header = f"{'ingestion (HTTP on loopback, acks=all)':<46}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'raw aiokafka produce, batched':<46}{produce_batched:>9.0f}{'':>8}")
    print(f"{f'raw aiokafka produce, {concurrency} concurrent acked sends':<46}{produce_concurrent:>9.0f}{1.0:>8.3f}")
    for result in gateway:
        print(
            f"{result.name:<46}{result.requests_per_second:>9.0f}{result.requests_per_second / produce_concurrent:>8.3f}"
            f"{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}"
        )
    print(f"\nratio = accepted requests/s / raw produce rate with the same {concurrency} acknowledged sends in flight.")

    print(classification_bench.render(cost))
    output = Path("bench-results")
    output.mkdir(exist_ok=True)
    document = {
        "when": datetime_now().isoformat(),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "classification": asdict(cost),
        "stages_in_process": asdict(stage_cost),
        "baseline": asdict(baseline),
        "pipeline": [dict(asdict(result), ratio=result.throughput_rps / baseline.throughput_rps) for result in results],
        "ingestion": {
            "raw_produce_batched_rps": produce_batched,
            "raw_produce_concurrent_acked_rps": produce_concurrent,
            "concurrency": concurrency,
            "gateway": [
                dict(asdict(result), ratio=result.requests_per_second / produce_concurrent) for result in gateway
            ],
        },
    }
    (output / "pipeline.json").write_text(json.dumps(document, indent=2))
    print(f"written to {output / 'pipeline.json'}")


async def run_all() -> None:
    """Every section, one after the other: BENCH_SECTIONS picks some (pipeline, sla, care)."""
    sections = os.environ.get("BENCH_SECTIONS", "pipeline,sla,care").split(",")
    if "pipeline" in sections:
        print("== pipeline: throughput and latency against a raw aiokafka pass-through ==", flush=True)
        await main()
    if "sla" in sections:
        from bench import sla

        print("\n== SLA timer: lateness, memory per open ticket, recovery ==", flush=True)
        results = await sla.main()
        Path("bench-results").mkdir(exist_ok=True)
        Path("bench-results/sla.json").write_text(json.dumps(results, indent=2))
    if "care" in sections:
        from bench import care

        print("\n== care calendar: lateness, memory per customer ==", flush=True)
        Path("bench-results").mkdir(exist_ok=True)
        Path("bench-results/care.json").write_text(json.dumps(care.main(), indent=2))


if __name__ == "__main__":
    asyncio.run(run_all())
