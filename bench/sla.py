"""SLA timer at scale: lateness of fired events with N open tickets on one worker, resident
memory per open ticket, and table recovery time after a restart.

For each size N (BENCH_SLA_TICKETS, default "100000,1000000"):
1. N open-ticket states (three or four clocks, realistic policies) are written straight into
   the tickets changelog, as a worker that had processed them would have left it. Most
   tickets' next points lie hours ahead; a sample (BENCH_SLA_SAMPLE, default 3000) has points
   spread over a window that opens after the worker is expected to be ready.
2. A real worker (`ticketflow worker`) starts on that changelog: recovery time is the time
   until it reports its table recovered and indexed.
3. sla.events is read while the window passes: lateness = record timestamp − the moment
   the event is about, for every warning, breach and escalation fired after recovery.
4. Memory per open ticket: the slope of worker RSS between the sizes (no baseline needed).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import urllib.request
import uuid
import zlib
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.catalog import TopicCatalog, internal_topics, pipeline_topic_specs
from streams.domain import tickets
from streams.models import CanonicalRequest, Classification, ClassifiedRequest, CustomerRef
from streams.partitioning import partition_of
from streams.settings import Settings
from streams.supervisor import Supervisor
from streams.transport.admin import ensure_topics
from streams.transport.broker import EmbeddedBroker, free_port

PARTITIONS = 4
# (channel, type, grade): the mix of open tickets; the last one matches the bench-window policy.
MIX = [
    ("webchat", "inquiry", None),
    ("app", "after_sales", None),
    ("email", "product_issue", None),
    ("phone", "complaint", 3),
    ("wecom", "complaint", 2),
]
WINDOW_KIND = ("phone", "suggestion", None)


def _template(kind: tuple[str, str, int | None], submitted_at: float, settings: Settings) -> dict:
    channel, request_type, grade = kind
    request = CanonicalRequest(
        request_id="REQ-T",
        ticket_id="TKT-T",
        channel=channel,
        customer_id="C",
        customer=CustomerRef(id="C"),
        text="-",
        language="zh",
        submitted_at=submitted_at,
        received_at=submitted_at,
        idempotency_key="t",
    )
    classification = Classification(
        type=request_type, urgency="normal", complaint_grade=grade, confidence=0.9, model_version="bench"
    )
    outcome = tickets.open_ticket(
        None,
        ClassifiedRequest(request=request, classification=classification),
        routing=settings.routing,
        policies=settings.policies,
        now=submitted_at,
    )
    return outcome.state.model_dump(mode="json", exclude_defaults=True)


def _shifted(template: dict, number: int, delta: float) -> bytes:
    """The template ticket as ticket `number`, every moment moved by `delta` seconds."""
    state = dict(
        template,
        ticket_id=f"TKT-BENCH{number:011d}",
        request_id=f"REQ-BENCH{number:011d}",
        customer_id=f"C{number}",
        submitted_at=template["submitted_at"] + delta,
    )
    clocks = {}
    for metric, clock in template["clocks"].items():
        clocks[metric] = dict(
            clock,
            started_at=clock["started_at"] + delta,
            due_at=clock["due_at"] + delta,
            points=[[moment + delta, kind, level] for moment, kind, level in clock["points"]],
        )
    state["clocks"] = clocks
    return zlib.compress(orjson.dumps(state), 1)


def build_states(count: int, sample: int, window: tuple[float, float], settings: Settings):  # noqa: ANN201
    """(ticket id, encoded state): `sample` tickets breach their first response inside `window`;
    the others were submitted in the last half hour and are due hours ahead."""
    rng = random.Random(count)
    base = time.time()
    templates = [_template(kind, base, settings) for kind in MIX]
    window_template = _template(WINDOW_KIND, base, settings)
    window_due = window_template["clocks"]["first_response"]["due_at"]
    sample_every = max(1, count // sample)
    for number in range(count):
        if number % sample_every == 0:
            payload = _shifted(window_template, number, rng.uniform(*window) - window_due)
        else:
            payload = _shifted(templates[number % len(templates)], number, -rng.uniform(0, 1800))
        yield f"TKT-BENCH{number:011d}", payload


async def seed_changelog(bootstrap: str, topic: str, records, partitions: int) -> int:  # noqa: ANN001
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    count = 0
    last: dict[int, tuple[bytes, bytes]] = {}
    try:
        pending = []
        for ticket_id, value in records:
            partition = partition_of(ticket_id, partitions)
            key = ticket_id.encode()
            if partition in last:
                previous_key, previous_value = last[partition]
                pending.append(await producer.send(topic, previous_value, key=previous_key, partition=partition))
            last[partition] = (key, value)
            count += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        # The last record of each partition alone in its batch: the embedded broker's
        # ListOffsets(latest) would otherwise hide the tail of the final batch from recovery.
        for partition, (key, value) in last.items():
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()
    return count


def _status(settings: Settings) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://{settings.worker_host}:{settings.worker_port}/v1/status", timeout=2) as r:
            return json.load(r)
    except OSError:
        return None


def _rss_mb(settings: Settings) -> float:
    with urllib.request.urlopen(f"http://{settings.worker_host}:{settings.worker_port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("process_resident_memory_bytes"):
                return float(line.split()[-1]) / 2**20
    raise RuntimeError("worker exports no process_resident_memory_bytes")


async def read_lateness(bootstrap: str, topic: str, ready_at: float, until: float) -> tuple[list[float], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    lateness: list[float] = []
    during_recovery = 0
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while time.time() < until:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event = json.loads(record.value)
                    if event["type"] not in ("sla.warning", "sla.breached", "sla.escalated"):
                        continue
                    from datetime import datetime

                    moment = datetime.fromisoformat(event["data"]["at"]).timestamp()
                    if moment < ready_at:
                        during_recovery += 1
                    else:
                        lateness.append(record.timestamp / 1000.0 - moment)
    finally:
        await consumer.stop()
    return lateness, during_recovery


async def run_size(broker: EmbeddedBroker, count: int, sample: int, log_dir: Path) -> dict:
    run = uuid.uuid4().hex[:6]
    policy_file = log_dir / "bench-policies.yaml"
    policy_file.write_text(_policies_with_window(), encoding="utf-8")
    settings = Settings(
        broker_url=broker.bootstrap,
        broker_kind="embedded",
        topic_prefix=f"sla{run}.",
        app_id=f"sla-{run}",
        partitions=PARTITIONS,
        worker_port=free_port(),
        gateway_port=free_port(),
        log_level="info",
        policy_file=policy_file,
        session_timeout=6.0,
        state_dir=log_dir / "state",
    )
    await ensure_topics(settings.bootstrap_servers, pipeline_topic_specs(settings))
    changelog = internal_topics(settings.app_id)[0][0]
    seeding_started = time.time()
    # The window opens once the seeding and the worker's recovery are expected to be done.
    window_opens = seeding_started + 60 + count / 2000
    window = (window_opens, window_opens + 60)
    seeded = await seed_changelog(
        settings.bootstrap_servers, changelog, build_states(count, sample, window, settings), PARTITIONS
    )
    seeded_at = time.time()
    supervisor = Supervisor(settings, log_dir=log_dir)
    supervisor.spawn(f"sla-worker-{count}", "worker")
    try:
        await asyncio.to_thread(supervisor.wait_until, "worker recovery", supervisor.worker_ready, 1800)
        ready_at = time.time()
        status = _status(settings) or {}
        rss = _rss_mb(settings)
        lateness, during_recovery = await read_lateness(
            settings.bootstrap_servers,
            TopicCatalog(settings.topic_prefix).sla_events,
            ready_at,
            until=max(window[1], ready_at) + 5,
        )
    finally:
        supervisor.stop()
    lateness.sort()
    pick = lambda q: lateness[min(len(lateness) - 1, int(len(lateness) * q))] if lateness else float("nan")  # noqa: E731
    return {
        "open_tickets": count,
        "seeded": seeded,
        "seed_seconds": round(seeded_at - seeding_started, 1),
        "recovery_seconds": round(ready_at - seeded_at, 1),
        "worker_open_tickets": status.get("open_tickets"),
        "scheduled": status.get("scheduled_tickets"),
        "rss_mb": round(rss, 1),
        "events_on_time_measured": len(lateness),
        "events_due_during_recovery": during_recovery,
        "lateness_p50_ms": round(statistics.median(lateness) * 1000, 1) if lateness else None,
        "lateness_p99_ms": round(pick(0.99) * 1000, 1) if lateness else None,
        "lateness_max_ms": round(lateness[-1] * 1000, 1) if lateness else None,
        "window_opened_after_ready": window[0] > ready_at,
    }


def _policies_with_window() -> str:
    """The default policies plus a 24/7 policy for the sampled tickets (points in the window)."""
    from streams.domain.config_files import bundled_file

    text = bundled_file("policies.yaml").read_text(encoding="utf-8")
    marker = "policies:\n"
    head, tail = text.split(marker, 1)
    extra = (
        "  - name: bench-window\n    match: {channel: phone, type: suggestion}\n"
        "    targets: {first_response: 1h, resolution: 24h}\n"
    )
    return head + marker + extra + tail


async def main() -> list[dict]:
    sizes = [int(size) for size in os.environ.get("BENCH_SLA_TICKETS", "100000,1000000").split(",") if size]
    sample = int(os.environ.get("BENCH_SLA_SAMPLE", "3000"))
    log_dir = Path(tempfile.mkdtemp(prefix="ticketflow-bench-sla-"))
    results = []
    for count in sizes:
        broker = EmbeddedBroker(port=0, log_path=log_dir / f"broker-{count}.log").start()
        try:
            print(f"SLA timer with {count:,} open tickets …", flush=True)
            results.append(await run_size(broker, count, sample, log_dir))
        finally:
            broker.stop()
    print()
    header = (
        f"{'open tickets':>13}{'recovery s':>12}{'RSS MiB':>10}{'events':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        print(
            f"{result['open_tickets']:>13,}{result['recovery_seconds']:>12}{result['rss_mb']:>10}"
            f"{result['events_on_time_measured']:>8}{result['lateness_p50_ms']!s:>9}{result['lateness_p99_ms']!s:>9}"
            f"{result['lateness_max_ms']!s:>9}"
        )
    if len(results) >= 2:
        low, high = results[0], results[-1]
        per_ticket = (high["rss_mb"] - low["rss_mb"]) * 2**20 / (high["open_tickets"] - low["open_tickets"])
        print(
            f"\nresident memory per open ticket (RSS slope {low['open_tickets']:,} → {high['open_tickets']:,}): "
            f"{per_ticket:,.0f} bytes"
        )
        results.append({"memory_per_open_ticket_bytes": round(per_ticket)})
    print("lateness: record timestamp of each warning, breach and escalation fired after recovery − its moment.")
    return results


if __name__ == "__main__":
    output = asyncio.run(main())
    Path("bench-results").mkdir(exist_ok=True)
    Path("bench-results/sla.json").write_text(json.dumps(output, indent=2))
