"""Reading the period's records from the broker (confluent-kafka: librdkafka fetches and
decodes record batches in C, several times faster per record than a pure-Python client).

Every partition of every topic the report reads is read from the first record at or after
`since` (Kafka's offsets-for-times) up to the end offset it had when reading began, so a report
over a live topic ends; records stamped after `until` (or after the moment the read began) are
skipped, and a partition stops at one stamped a day later than that. Some brokers (the embedded one among them) report the end at
the start of the last record batch: past the end offsets, reading goes on until two polls in a
row bring nothing. The periods are decided by the records' own times (submission), never by
offsets, so a broker that answers offsets-for-times coarsely only makes the read longer.

`requests.classified` is read first: it decides which tickets belong to the periods; the other
topics are then read together and only update those tickets' facts (streams/report/facts.py).
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streams.catalog import TopicCatalog
from streams.report.facts import Folder

Progress = Callable[[int], None]
TIMEOUT = 30.0
# Records stamped after `until` are skipped; a partition stops at one stamped this much later
# (producers' timestamps are not strictly in offset order).
OUT_OF_ORDER_MS = 86_400_000


class ReadError(RuntimeError):
    """The broker could not be read."""


@dataclass
class ReadPlan:
    """Per topic: the partitions' (start, end) offsets."""

    ranges: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(end - start for parts in self.ranges.values() for start, end in parts.values())

    def records(self, topic: str) -> int:
        return sum(end - start for start, end in self.ranges.get(topic, {}).values())


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


def _plan(consumer: Consumer, topics: list[str], existing: dict, since_ms: int) -> ReadPlan:
    plan = ReadPlan()
    partitions = []
    for topic in topics:
        if topic not in existing:
            plan.missing.append(topic)
            continue
        partitions.extend(TopicPartition(topic, p, since_ms) for p in sorted(existing[topic].partitions))
    if not partitions:
        return plan
    found = {(tp.topic, tp.partition): tp.offset for tp in consumer.offsets_for_times(partitions, timeout=TIMEOUT)}
    for tp in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=TIMEOUT)
        offset = found.get((tp.topic, tp.partition), -1)
        start = high if offset < 0 else max(low, min(offset, high))  # -1: no record at or after `since`
        plan.ranges.setdefault(tp.topic, {})[tp.partition] = (start, high)
    return plan


def _read(
    consumer: Consumer,
    ranges: dict[str, dict[int, tuple[int, int]]],
    handlers: dict[str, Callable[[bytes | None, bytes], bool]],
    folder: Folder,
    progress: Progress | None,
    until_ms: int,
) -> None:
    assignment = [
        TopicPartition(topic, p, start)
        for topic, parts in ranges.items()
        for p, (start, end) in parts.items()
        if end > start
    ]
    if not assignment:
        return
    ends = {(tp.topic, tp.partition): ranges[tp.topic][tp.partition][1] for tp in assignment}
    past_end: set[tuple[str, int]] = set()  # partitions read up to the reported end offset
    stopped: set[tuple[str, int]] = set()  # partitions at a record stamped after `until`
    consumer.assign(assignment)
    counts = folder.counts
    read: dict[str, int] = {}
    used: dict[str, int] = {}
    quiet, done = 0, False
    while True:
        if not done and len(past_end | stopped) == len(ends):
            done, quiet = True, 0  # count quiet polls from here
        messages = consumer.consume(num_messages=20_000, timeout=0.25 if done else 1.0)
        # Past every end offset, two polls in a row that bring nothing to read end it (on a live
        # topic, what keeps coming is stamped after the read began, and is skipped).
        quiet = quiet + 1 if not messages else quiet
        if done and quiet >= 2:
            break
        if not messages:
            continue
        seen = 0
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    past_end.add((message.topic(), message.partition()))
                    continue
                raise ReadError(f"{message.topic()}: {error.str()}")
            topic = message.topic()
            where = (topic, message.partition())
            if where in stopped:
                continue
            stamp = message.timestamp()[1]
            if stamp > until_ms:
                if stamp > until_ms + OUT_OF_ORDER_MS:
                    stopped.add(where)
                    consumer.pause([TopicPartition(*where)])
                continue
            if message.offset() >= ends[where] - 1:
                past_end.add(where)
            seen += 1
            value = message.value()
            if value is None:
                continue
            read[topic] = read.get(topic, 0) + 1
            try:
                if handlers[topic](message.key(), value):
                    used[topic] = used.get(topic, 0) + 1
            except (ValueError, KeyError, TypeError, AttributeError):
                counts.unreadable += 1
        quiet = 0 if seen else quiet + 1
        if progress is not None and seen:
            progress(seen)
    for topic, count in read.items():
        counts.read[topic] = counts.read.get(topic, 0) + count
    for topic, count in used.items():
        counts.used[topic] = counts.used.get(topic, 0) + count
    consumer.unassign()


def read(
    bootstrap: str,
    catalog: TopicCatalog,
    folder: Folder,
    *,
    since: float,
    until: float | None = None,
    on_plan: Callable[[ReadPlan], None] | None = None,
    progress: Progress | None = None,
) -> ReadPlan:
    """Fold every record of the report's topics from `since` (epoch seconds) into `folder`."""
    began_ms = int(time.time() * 1000)
    # Folding makes millions of small objects and no reference cycles: the cycle collector would
    # only walk the growing fact table again and again.
    collecting = gc.isenabled()
    gc.disable()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"ticketflow-report-{uuid.uuid4().hex[:12]}",  # never committed: offsets are assigned
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "queued.max.messages.kbytes": 64 * 1024,
            "fetch.wait.max.ms": 100,
        }
    )
    try:
        try:
            existing = consumer.list_topics(timeout=TIMEOUT).topics
        except KafkaException as exc:
            raise ReadError(f"cannot reach the broker at {bootstrap}: {exc}") from None
        order = report_topics(catalog, set(existing))
        plan = _plan(consumer, [topic for topic, _ in order], existing, int(since * 1000))
        if on_plan is not None:
            on_plan(plan)
        until_ms = min(int(until * 1000), began_ms) if until is not None else began_ms
        handlers = {
            "classified": folder.classified,
            "routed": folder.routed,
            "sla_event": folder.sla_event,
            "window": folder.window,
            "feedback": folder.feedback,
            "followup": folder.followup,
        }
        by_topic = {topic: handlers[kind] for topic, kind in order}
        first = order[0][0]  # requests.classified decides the tickets; then every other topic at once
        _read(consumer, {t: r for t, r in plan.ranges.items() if t == first}, by_topic, folder, progress, until_ms)
        _read(consumer, {t: r for t, r in plan.ranges.items() if t != first}, by_topic, folder, progress, until_ms)
        return plan
    finally:
        consumer.close()
        if collecting:
            gc.enable()
