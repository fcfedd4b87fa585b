"""lifecycle: tickets and SLA clocks.

- `open_tickets_from_requests`: requests.classified → route, start clocks (dept.*, sla.events)
- `apply_ticket_actions`: tickets.actions → stop, pause, resume, reopen clocks (sla.events)
- `fire_sla_points`: the SLA timer — emits warnings, breaches and escalations at their due
  moment, for the partitions this worker owns, from the deadline index (not a scan of every ticket)

After every rebalance the deadline index and open-ticket counts are rebuilt from the
recovered table for exactly the partitions this worker owns; revoked partitions are dropped
at once, so a timer never fires for a ticket another worker now owns. Whether a point has
fired is part of the ticket's state in the table, so a restarted or rebalanced worker does
not fire it again.
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import REGISTRY

from streams.app import app
from streams.stages import LifecycleStage, Source
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.tables import ticket_store, tickets_table
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
    retention_seconds=settings.ticket_retention_days * 86400,
    orphan_retention_seconds=settings.orphan_action_retention_hours * 3600,
)
REGISTRY.register(stage.open_tickets)

# Rebuilds since start; the worker's /v1/status reports it (tests wait for ≥ 1 after a restart).
recoveries = 0


@app.agent(requests_classified)
async def open_tickets_from_requests(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        source = Source(message.topic, message.partition, message.offset)
        emitter.send(stage.on_classified(event.value, message.partition, source))


@app.agent(tickets_actions)
async def apply_ticket_actions(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        source = Source(message.topic, message.partition, message.offset)
        emitter.send(stage.on_action(event.value, message.partition, source))


@app.task
async def fire_sla_points() -> None:
    """The SLA timer: wakes at the next due point (or every `sla_tick_seconds` at the latest,
    to see points scheduled meanwhile) and fires what is due in the partitions owned."""
    tick = settings.sla_tick_seconds
    while True:
        now = time.time()
        for partition in stage.index.partitions():
            outputs = stage.fire_due(partition, now)
            if outputs:
                emitter.send(outputs)
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
    recoveries += 1
    log.info(
        "lifecycle: partitions %s recovered; %d tickets scheduled, %d open (%.2fs)",
        sorted(owned), stage.index.scheduled(), stage.open_tickets.total(), time.monotonic() - started,
    )  # fmt: skip


@app.on_partitions_revoked.connect
async def drop_revoked_partitions(sender, revoked, **kwargs) -> None:  # noqa: ANN001
    topic = app.catalog.requests_classified
    stage.revoke(tp.partition for tp in revoked if tp.topic == topic)
