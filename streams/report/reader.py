"""Reading the period's records from the broker.

Every partition of every topic the report reads is read from the first record at or after
`since` (Kafka's offsets-for-times) up to the end offset it had when reading began, so a report
over a live topic ends; a partition also stops at its first record stamped after `until` or
after the moment the read began.
(A broker whose offsets-for-times answers without a timestamp at or after the one asked for is
read from the beginning: the periods are decided by the records' own times, never by offsets.)
`requests.classified` is read first: it decides which tickets belong to the periods; the other
topics only update those tickets' facts (streams/report/facts.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.catalog import TopicCatalog
from streams.report.facts import Folder

Progress = Callable[[int], None]


@dataclass
class ReadPlan:
    """Per topic: the partitions' (start, stop) offsets."""

    ranges: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(stop - start for parts in self.ranges.values() for start, stop in parts.values())

    def records(self, topic: str) -> int:
        return sum(stop - start for start, stop in self.ranges.get(topic, {}).values())


def report_topics(catalog: TopicCatalog, existing: set[str]) -> list[tuple[str, str]]:
    """(topic, kind) in reading order; department topics are found by name on the broker."""
    prefix = catalog.department("")
    departments = sorted(name for name in existing if name.startswith(prefix))
    return [
        (catalog.requests_classified, "classified"),
        *[(name, "routed") for name in departments],
        (catalog.sla_events, "sla_event"),
        (catalog.sla_windows, "window"),
        (catalog.name("feedback"), "feedback"),
        (catalog.name("followups"), "followup"),
    ]


async def _plan(consumer: AIOKafkaConsumer, topics: list[str], since_ms: int) -> ReadPlan:
    plan = ReadPlan()
    existing = await consumer.topics()
    partitions = []
    for topic in topics:
        if topic not in existing:
            plan.missing.append(topic)
            continue
        found = consumer.partitions_for_topic(topic) or set()
        partitions.extend(TopicPartition(topic, p) for p in sorted(found))
    if not partitions:
        return plan
    ends = await consumer.end_offsets(partitions)
    beginnings = await consumer.beginning_offsets(partitions)
    starts = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
    for tp in partitions:
        end, found = ends[tp], starts.get(tp)
        if found is None:
            start = end  # no record at or after `since`
        elif found.offset >= 0 and found.timestamp >= since_ms:
            start = found.offset
        elif found.timestamp < 0 and found.offset <= beginnings[tp]:
            start = end  # the "no such record" answer of some brokers
        else:
            start = beginnings[tp]  # an answer that cannot be trusted: read it all
        plan.ranges.setdefault(tp.topic, {})[tp.partition] = (min(start, end), end)
    return plan


async def _read_topics(consumer: AIOKafkaConsumer, ranges: dict[str, dict[int, tuple[int, int]]],
                       handlers: dict[str, Callable[[bytes], bool]], folder: Folder, progress: Progress | None,
                       until_ms: int | None) -> None:  # fmt: skip
    """Read each partition to its end offset; then on while polls still bring records (some brokers,
    the embedded one among them, report the end at the start of the last record batch), up to the
    first record stamped after `until_ms` or written after the read began."""
    todo = {TopicPartition(topic, p): bounds for topic, parts in ranges.items() for p, bounds in parts.items()
            if bounds[1] > bounds[0]}  # fmt: skip
    if not todo:
        return
    consumer.assign(list(todo))
    for tp, (start, _) in todo.items():
        consumer.seek(tp, start)
    counts = folder.counts
    limit = until_ms if until_ms is not None else 2**62
    quiet: dict[TopicPartition, int] = {}  # partitions past their end offset: polls that brought nothing
    while todo:
        batches = await consumer.getmany(*todo, timeout_ms=150 if quiet else 1000, max_records=50_000)
        for tp in list(quiet):
            if tp not in batches:
                quiet[tp] += 1
                if quiet[tp] >= 2:
                    del todo[tp], quiet[tp]
                    consumer.pause(tp)
        for tp, records in batches.items():
            if tp not in todo:
                continue
            topic, handle = tp.topic, handlers[tp.topic]
            seen, finished = 0, False
            for record in records:
                if record.timestamp > limit:
                    finished = True
                    break
                seen += 1
                value = record.value
                if value is None:
                    continue
                try:
                    used = handle(value)
                except (ValueError, KeyError, TypeError, AttributeError):
                    counts.unreadable += 1
                    used = False
                counts.add(topic, used)
            if progress is not None and seen:
                progress(seen)
            if finished:
                del todo[tp]
                quiet.pop(tp, None)
                consumer.pause(tp)
            elif records and records[-1].offset >= todo[tp][1] - 1:
                quiet[tp] = 0


async def read_into(bootstrap: str, catalog: TopicCatalog, folder: Folder, *, since: float,
                    until: float | None = None, on_plan: Callable[[ReadPlan], None] | None = None,
                    progress: Progress | None = None) -> ReadPlan:  # fmt: skip
    """Fold every record of the report's topics from `since` (epoch seconds) into `folder`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024, fetch_max_wait_ms=100,
        request_timeout_ms=60_000,
    )  # fmt: skip
    await consumer.start()
    try:
        existing = await consumer.topics()
        order = report_topics(catalog, existing)
        began_ms = int(time.time() * 1000)
        plan = await _plan(consumer, [topic for topic, _ in order], int(since * 1000))
        until_ms = min(int(until * 1000), began_ms) if until is not None else began_ms
        if on_plan is not None:
            on_plan(plan)
        handlers = {"classified": folder.classified, "routed": folder.routed, "sla_event": folder.sla_event,
                    "window": folder.window, "feedback": folder.feedback, "followup": folder.followup}  # fmt: skip
        by_topic = {topic: handlers[kind] for topic, kind in order}
        first = order[0][0]  # requests.classified decides the tickets; then every other topic at once
        await _read_topics(consumer, {t: r for t, r in plan.ranges.items() if t == first}, by_topic, folder, progress,
                           until_ms)  # fmt: skip
        await _read_topics(consumer, {t: r for t, r in plan.ranges.items() if t != first}, by_topic, folder, progress,
                           until_ms)  # fmt: skip
        return plan
    finally:
        await consumer.stop()


def read(bootstrap: str, catalog: TopicCatalog, folder: Folder, **options) -> ReadPlan:  # noqa: ANN003
    return asyncio.run(read_into(bootstrap, catalog, folder, **options))
