"""Repair by replay: recompute every ticket's clocks from the log under another policy file.

`ticketflow sla replay --policy NEW.yaml [--from TIME] [--apply]` reads `requests.classified`
and `tickets.actions` from the beginning (so every ticket has its whole history), replays each ticket through the same pure domain functions the
lifecycle uses — once under the policies its clocks were computed with (the current
`TICKETFLOW_POLICY_FILE`, or `--current-policy`) and once under NEW — and reports what would
change: policies, deadlines moved earlier or later, breaches that would appear, breaches
already emitted that the new policy would not have raised. With `--apply` it publishes a
`repair` action per changed open ticket; the lifecycle swaps the clocks in, never repeats a
point that already fired, fires at once (late) what the new policy puts in the past, and
refuses a repair that a newer action has made stale.

Roll the new file out to the workers too, so that new tickets get it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from streams import ids
from streams.catalog import TopicCatalog
from streams.domain import tickets
from streams.domain.policies import PolicyFile
from streams.domain.routing import RoutingConfig
from streams.domain.sla import BREACH
from streams.models import ClassifiedRequest, ClockRepair, TicketAction


@dataclass(frozen=True)
class LogRecord:
    timestamp: float
    topic_order: int  # requests before actions at the same millisecond
    offset: int
    kind: str  # "request" | "action"
    value: bytes


async def read_ticket_log(bootstrap: str, catalog: TopicCatalog) -> dict[str, list[LogRecord]]:
    """Every classified request and action by ticket id, from the beginning of the log up to
    the end offsets seen when the read started (records arriving meanwhile are left for the
    next run). One more poll after those offsets covers brokers that report the end short of
    the last batch (the embedded one)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    by_ticket: dict[str, list[LogRecord]] = defaultdict(list)
    try:
        sources = {catalog.requests_classified: (0, "request"), catalog.tickets_actions: (1, "action")}
        partitions = [
            TopicPartition(topic, p) for topic in sources for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            raise RuntimeError(f"topics {sorted(sources)} not found on {bootstrap}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        extra_polls = 2
        while extra_polls > 0:
            batches = await consumer.getmany(timeout_ms=300)
            for tp, records in batches.items():
                order, kind = sources[tp.topic]
                for record in records:
                    if record.key is not None:
                        by_ticket[record.key.decode()].append(
                            LogRecord(record.timestamp / 1000, order, record.offset, kind, record.value)
                        )
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= ends[tp] for tp in partitions):
                extra_polls -= 1
    finally:
        await consumer.stop()
    for records in by_ticket.values():
        records.sort(key=lambda item: (item.timestamp, item.topic_order, item.offset))
    return by_ticket


def replay_ticket(
    records: list[LogRecord], *, routing: RoutingConfig, policies: PolicyFile, now: float
) -> tuple[tickets.TicketState | None, str | None, int]:
    """The ticket's state as the lifecycle would hold it now under `policies`, the last action
    applied, and the highest repair sequence seen."""
    state: tickets.TicketState | None = None
    last_action, repairs = None, 0
    for record in records:
        try:
            if record.kind == "request":
                classified = ClassifiedRequest.model_validate_json(record.value)
                outcome = tickets.open_ticket(
                    state, classified, routing=routing, policies=policies, now=record.timestamp
                )
            else:
                action = TicketAction.model_validate_json(record.value)
                if action.type == "repair":
                    repairs = max(repairs, action.repair.sequence if action.repair else 0)
                    continue
                outcome = tickets.apply_action(state, action, policies=policies, now=record.timestamp)
                if not outcome.duplicate:
                    last_action = action.action_id
        except ValidationError:
            continue  # the live pipeline rejected it to requests.invalid as well
        if outcome.state is not None:
            state = outcome.state
    if state is None or state.request_id is None:
        return None, last_action, repairs
    tickets.fire_due(state, now=now)
    return state, last_action, repairs


@dataclass
class Change:
    ticket_id: str
    policy: tuple[str | None, str | None]
    moved: dict[str, float] = field(default_factory=dict)  # metric → seconds later (+) or earlier (−)
    added_clocks: list[str] = field(default_factory=list)  # metrics only the new policy measures
    new_breaches: list[str] = field(default_factory=list)
    withdrawn_breaches: list[str] = field(default_factory=list)
    open: bool = True

    def as_dict(self) -> dict:
        return {
            "ticket_id": self.ticket_id,
            "policy_now": self.policy[0],
            "policy_new": self.policy[1],
            "due_moved_seconds": self.moved,
            "added_clocks": self.added_clocks,
            "new_breaches": self.new_breaches,
            "withdrawn_breaches": self.withdrawn_breaches,
            "open": self.open,
        }


def compare(ticket_id: str, current: tickets.TicketState, proposed: tickets.TicketState) -> Change | None:
    change = Change(ticket_id, (current.policy, proposed.policy), open=proposed.is_open)
    for metric, clock in proposed.clocks.items():
        before = current.clocks.get(metric)
        if before is None:
            if clock.stopped_at is None:
                change.added_clocks.append(metric)
            continue
        if before.cycle != clock.cycle:
            continue
        if clock.stopped_at is None and abs(clock.due_at - before.due_at) > 0.001:
            change.moved[metric] = round(clock.due_at - before.due_at, 3)
        fired_now, fired_new = BREACH in before.fired, BREACH in clock.fired
        if fired_new and not fired_now:
            change.new_breaches.append(metric)
        elif fired_now and not fired_new:
            change.withdrawn_breaches.append(metric)
    if change.policy[0] == change.policy[1] and not (
        change.moved or change.added_clocks or change.new_breaches or change.withdrawn_breaches
    ):
        return None
    return change


@dataclass
class Report:
    since: float | None
    tickets: int = 0
    changes: list[Change] = field(default_factory=list)
    repairs_published: int = 0

    def summary_lines(self) -> list[str]:
        since = (
            "the beginning of the log"
            if self.since is None
            else "activity since " + datetime.fromtimestamp(self.since, UTC).isoformat()
        )
        policy_moves = Counter(change.policy for change in self.changes if change.policy[0] != change.policy[1])
        earlier = Counter(m for c in self.changes for m, d in c.moved.items() if d < 0)
        later = Counter(m for c in self.changes for m, d in c.moved.items() if d > 0)
        added = Counter(m for c in self.changes for m in c.added_clocks)
        lines = [
            f"tickets replayed since {since}: {self.tickets}",
            f"tickets that would change: {len(self.changes)} ({sum(c.open for c in self.changes)} still open)",
        ]
        for (old, new), count in policy_moves.most_common():
            lines.append(f"  policy {old} → {new}: {count}")
        for metric in sorted(set(earlier) | set(later)):
            lines.append(f"  {metric} deadline earlier: {earlier[metric]}, later: {later[metric]}")
        for metric, count in sorted(added.items()):
            lines.append(f"  {metric} newly measured: {count}")
        lines.append(f"breaches the new policy adds: {sum(len(c.new_breaches) for c in self.changes)}")
        lines.append(
            f"breaches already raised that it would not have raised: "
            f"{sum(len(c.withdrawn_breaches) for c in self.changes)} (events cannot be unsent)"
        )
        if self.repairs_published:
            lines.append(f"repairs published to tickets.actions: {self.repairs_published}")
        return lines


async def run_replay(
    *,
    bootstrap: str,
    catalog: TopicCatalog,
    routing: RoutingConfig,
    current: PolicyFile,
    proposed: PolicyFile,
    since: float | None,
    apply: bool,
) -> Report:
    log = await read_ticket_log(bootstrap, catalog)
    now = time.time()
    report = Report(since=since)
    repairs: list[tuple[str, bytes]] = []
    for ticket_id, records in log.items():
        if since is not None and records[-1].timestamp < since:
            continue  # no activity since `since`: left out of the report and the repairs
        live, last_action, repaired = replay_ticket(records, routing=routing, policies=current, now=now)
        new, _, _ = replay_ticket(records, routing=routing, policies=proposed, now=now)
        if live is None or new is None:
            continue
        report.tickets += 1
        change = compare(ticket_id, live, new)
        if change is None:
            continue
        report.changes.append(change)
        if apply and new.is_open:
            repair = ClockRepair(
                policy=new.policy or "",
                based_on_action=last_action,
                sequence=repaired + 1,
                clocks={m: c.model_dump(mode="json") for m, c in new.clocks.items()},
            )
            action = TicketAction(
                action_id=ids.action_id(ticket_id, f"repair-{repair.sequence}"),
                ticket_id=ticket_id,
                type="repair",
                by="sla-replay",
                at=datetime.now(UTC),
                repair=repair,
            )
            repairs.append((ticket_id, action.model_dump_json().encode()))
    if repairs:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures = [await producer.send(catalog.tickets_actions, value, key=key.encode()) for key, value in repairs]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()
        report.repairs_published = len(repairs)
    return report


def report_json(report: Report) -> bytes:
    return orjson.dumps(
        {
            "since": report.since,
            "tickets": report.tickets,
            "repairs_published": report.repairs_published,
            "changes": [change.as_dict() for change in report.changes],
        },
        option=orjson.OPT_INDENT_2,
    )
