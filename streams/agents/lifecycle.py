"""lifecycle: tickets and SLA clocks.

- `open_tickets_from_requests`: requests.classified → route, start clocks (dept.*, sla.events)
- `apply_ticket_actions`: tickets.actions → stop, pause, resume, reopen clocks (sla.events)
- `fire_sla_points`: the SLA timer — emits warnings, breaches and escalations at their due
  moment, for the partitions this worker owns, from the deadline index (not a scan of every
  ticket); publishes to raw.<channel> the e-mail replies and web chat follow-ups whose ticket
  did not turn up within the hold (see streams/domain/tickets.py), as requests of their own

After every rebalance the deadline index and open-ticket counts are rebuilt from the
recovered table for exactly the partitions this worker owns; revoked partitions are dropped
at once, so a timer never fires for a ticket another worker now owns. Whether a point has
fired is part of the ticket's state in the table, so a restarted or rebalanced worker does
not fire it again; likewise a promoted reply leaves its thread's held actions, and the timer
records both only once the broker has acknowledged what it published. The agents record a
ticket's new state the same way (`pending_writes`), and offsets are committed after it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from faust.types import TP
from prometheus_client import REGISTRY

from streams import metrics

from streams.app import app
from streams.stages import LifecycleStage, Source
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.state.pending_writes import PendingWrites
from streams.state.progress import InputProgress
from streams.tables import partition_of, ticket_store, tickets_table
from streams.topics import emitter, requests_classified, sla_facts, tickets_actions

log = logging.getLogger(__name__)
settings = app.ticketflow

stage = LifecycleStage(
    app.catalog,
    routing=settings.routing,
    policies=settings.policies,
    store=ticket_store,
    index=DeadlineIndex(),
    open_tickets=OpenTickets(),
    facts_topic=sla_facts.get_topic_name(),
    key_partition=lambda ticket_id: partition_of(ticket_id, settings.partitions),
    retention_seconds=settings.ticket_retention_days * 86400,
    orphan_retention_seconds=settings.orphan_action_retention_hours * 3600,
    max_awaiting=settings.max_awaiting_tickets,
    reply_hold_seconds=settings.email_reply_hold_minutes * 60,
    chat_reply_hold_seconds=settings.webchat_reply_hold_minutes * 60,
)
REGISTRY.register(stage.open_tickets)

# A ticket's changelog record is sent once its step's events are acknowledged, in step order;
# the consumer commits offsets only after these writes (see streams/state/pending_writes.py).
pending_writes = PendingWrites(ticket_store.write_changelog)
app.pending_writes.append(pending_writes)

# Rebuilds since start; the worker's /v1/status reports it (tests wait for ≥ 1 after a restart).
recoveries = 0


# How far the inputs have been read per partition: the timer's event-time guard.
progress = InputProgress()
INPUT_TOPICS = (requests_classified.get_topic_name(), tickets_actions.get_topic_name())


@app.agent(requests_classified)
async def open_tickets_from_requests(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        source = Source(message.topic, message.partition, message.offset)
        written: list[tuple[int, str]] = []
        outputs = stage.on_classified(event.value, message.partition, source, deferred=written)
        pending_writes.add(emitter.send(outputs), written)
        progress.record(message.topic, message.partition, message.offset, message.timestamp, time.time())


@app.agent(tickets_actions)
async def apply_ticket_actions(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        source = Source(message.topic, message.partition, message.offset)
        written: list[tuple[int, str]] = []
        outputs = stage.on_action(event.value, message.partition, source, deferred=written)
        pending_writes.add(emitter.send(outputs), written)
        progress.record(message.topic, message.partition, message.offset, message.timestamp, time.time())


def end_offset(topic: str, partition: int) -> int | None:
    try:
        return app.consumer.highwater(TP(topic, partition))
    except Exception:  # noqa: BLE001 - not fetched yet, or the consumer is restarting
        return None


@app.task
async def fire_sla_points() -> None:
    """The SLA timer: wakes at the next due point (or every `sla_tick_seconds` at the latest,
    to see points scheduled meanwhile) and fires what is due in the partitions owned — up to
    now, or, while a partition's inputs are being caught up on, up to the last record read."""
    tick = settings.sla_tick_seconds
    while True:
        try:
            now = time.time()
            for partition in stage.index.partitions():
                deferred: list[tuple[int, str]] = []
                upto = progress.watermark(partition, INPUT_TOPICS, now, end_offset)
                outputs = stage.fire_due(partition, now, upto=upto, deferred=deferred)
                # Fired points are recorded once their events are acknowledged, in order with
                # the agents' writes: a refused event fires again after the restart that follows.
                pending_writes.add(emitter.send(outputs), deferred)
        except Exception:  # noqa: BLE001 - the timer must outlive any one bad tick
            log.exception("SLA timer: tick failed")
            metrics.STAGE_ERRORS.labels("timer").inc()
        next_due = stage.index.next_due()
        delay = tick if next_due is None else min(tick, next_due - time.time())
        await asyncio.sleep(max(0.0, delay))


def owned_partitions() -> set[int]:
    topic = app.catalog.requests_classified
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


@tickets_table.on_recover
async def rebuild_deadline_index() -> None:
    global recoveries
    owned = owned_partitions()
    started = time.monotonic()
    for _ in stage.rebuild_in_steps(owned, ticket_store.partition_of):
        await asyncio.sleep(0)  # keep the worker responsive while a large table is indexed
    progress.recovered(time.time())
    recoveries += 1
    log.info(
        "lifecycle: partitions %s recovered; %d tickets scheduled, %d open (%.2fs)",
        sorted(owned), stage.index.scheduled(), stage.open_tickets.total(), time.monotonic() - started,
    )  # fmt: skip


@app.on_partitions_revoked.connect
async def drop_revoked_partitions(sender, revoked, **kwargs) -> None:  # noqa: ANN001
    topic = app.catalog.requests_classified
    stage.revoke(tp.partition for tp in revoked if tp.topic == topic)
