"""lifecycle: tickets and SLA clocks.

- `open_tickets_from_requests`: requests.classified → route, start clocks (dept.*, sla.events)
- `apply_ticket_actions`: tickets.actions → stop, pause, resume, reopen clocks (sla.events)
- `fire_sla_points`: the SLA timer — emits warnings, breaches and escalations at their due
  moment, for the partitions this worker owns, from the deadline index (not a scan of every
  ticket); publishes to raw.<channel> the e-mail replies and web chat follow-ups whose ticket
  did not turn up within the hold, as requests of their own

After every rebalance the deadline index and open-ticket counts are rebuilt from the
recovered table for exactly the partitions this worker owns; revoked partitions are dropped
at once, so a timer never fires for a ticket another worker now owns. Whether a point has
fired is part of the ticket's state in the table, so a restarted or rebalanced worker does
not fire it again; the agents and the timer record a ticket's new state only once the broker
has acknowledged what its step published (`pending_writes`), and offsets are committed after
it (docs/sla.md, docs/guarantees.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Protocol

from faust.types import TP

from streams import metrics
from streams.agents.timers import fire_at_due_moments
from streams.partitioning import partition_of
from streams.records import Source
from streams.stages.lifecycle import LifecycleStage
from streams.state.deadlines import DeadlineIndex
from streams.state.open_tickets import OpenTickets
from streams.state.pending_writes import PendingWrites
from streams.state.progress import InputProgress

if TYPE_CHECKING:
    from streams.app import TicketflowApp

log = logging.getLogger(__name__)


class TicketObserver(Protocol):
    pending_writes: PendingWrites

    def on_tickets(self, changed: list[tuple[int, str]], deferred: list[tuple[int, str]]) -> list: ...


class LifecycleAgents:
    """The lifecycle stage of one worker app, with its timer's bookkeeping."""

    def __init__(self, app: TicketflowApp) -> None:
        settings, topics = app.ticketflow, app.pipeline_topics
        self.app = app
        self.store = app.pipeline_tables.tickets
        self.stage = LifecycleStage(
            app.catalog,
            routing=settings.routing,
            policies=settings.policies,
            store=self.store,
            index=DeadlineIndex(),
            open_tickets=OpenTickets(),
            facts_topic=topics.sla_facts.get_topic_name(),
            key_partition=lambda ticket_id: partition_of(ticket_id, settings.partitions),
            retention_seconds=settings.ticket_retention_days * 86400,
            orphan_retention_seconds=settings.orphan_action_retention_hours * 3600,
            max_awaiting=settings.max_awaiting_tickets,
            reply_hold_seconds=settings.email_reply_hold_minutes * 60,
            chat_reply_hold_seconds=settings.webchat_reply_hold_minutes * 60,
        )
        # A ticket's changelog record is sent once its step's events are acknowledged, in step
        # order; the consumer commits offsets only after these writes.
        self.pending_writes = PendingWrites(self.store.write_changelog)
        app.pending_writes.append(self.pending_writes)
        # Rebuilds since start; the worker's /v1/status reports it (tests wait for ≥ 1 after a restart).
        self.recoveries = 0
        # How far the inputs have been read per partition: the timer's event-time guard.
        self.progress = InputProgress()
        self.input_topics = (topics.requests_classified.get_topic_name(), topics.tickets_actions.get_topic_name())
        # Stages that look at the tickets a step changed (follow-ups: streams/agents/followups.py).
        self.observers: list[TicketObserver] = []

    def send_step(self, outputs: list, written: list[tuple[int, str]]) -> None:
        """Send a step's outputs and those of its observers; record each one's state once they are acknowledged."""
        observed = []
        for observer in self.observers:
            deferred: list[tuple[int, str]] = []
            outputs = [*outputs, *observer.on_tickets(written, deferred)]
            observed.append((observer, deferred))
        futures = self.app.pipeline_topics.emitter.send(outputs)
        self.pending_writes.add(futures, written)
        for observer, deferred in observed:
            observer.pending_writes.add(futures, deferred)

    def record_step(self, outputs: list, written: list[tuple[int, str]], message) -> None:  # noqa: ANN001
        self.send_step(outputs, written)
        self.progress.record(message.topic, message.partition, message.offset, message.timestamp, time.time())

    def end_offset(self, topic: str, partition: int) -> int | None:
        try:
            return self.app.consumer.highwater(TP(topic, partition))
        except Exception:  # noqa: BLE001 - not fetched yet, or the consumer is restarting
            return None

    def fire_due_now(self) -> None:
        """One timer step: fire what is due in every owned partition — up to now, or, while a
        partition's inputs are being caught up on, up to the last record read."""
        now = time.time()
        for partition in self.stage.index.partitions():
            deferred: list[tuple[int, str]] = []
            upto = self.progress.watermark(partition, self.input_topics, now, self.end_offset)
            outputs = self.stage.fire_due(partition, now, upto=upto, deferred=deferred)
            # Fired points are recorded once their events are acknowledged, in order with the
            # agents' writes: a refused event fires again after the restart that follows.
            self.send_step(outputs, deferred)

    def owned_partitions(self) -> set[int]:
        topic = self.app.catalog.requests_classified
        return {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == topic}


def register(app: TicketflowApp) -> LifecycleAgents:
    lifecycle = LifecycleAgents(app)
    stage, topics, tick = lifecycle.stage, app.pipeline_topics, app.ticketflow.sla_tick_seconds

    @app.agent(topics.requests_classified, name="streams.agents.lifecycle.open_tickets_from_requests")
    async def open_tickets_from_requests(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            written: list[tuple[int, str]] = []
            source = Source(message.topic, message.partition, message.offset)
            outputs = stage.on_classified(event.value, message.partition, source, deferred=written)
            lifecycle.record_step(outputs, written, message)

    @app.agent(topics.tickets_actions, name="streams.agents.lifecycle.apply_ticket_actions")
    async def apply_ticket_actions(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            written: list[tuple[int, str]] = []
            source = Source(message.topic, message.partition, message.offset)
            outputs = stage.on_action(event.value, message.partition, source, deferred=written)
            lifecycle.record_step(outputs, written, message)

    async def fire_sla_points() -> None:
        """The SLA timer: wakes at the next due point (or every `sla_tick_seconds` at the latest,
        to see points scheduled meanwhile) and fires what is due in the partitions owned."""
        await fire_at_due_moments("SLA timer", lifecycle.fire_due_now, stage.index.next_due, tick)

    app.task(fire_sla_points)

    @app.pipeline_tables.tickets_table.on_recover
    async def rebuild_deadline_index() -> None:
        owned = lifecycle.owned_partitions()
        started = time.monotonic()
        # Every ticket lives where Kafka's default partitioner puts its id: records on another
        # partition are refused (stages/lifecycle.py, wrong_partition).
        partitions = app.ticketflow.partitions
        for _ in stage.rebuild_in_steps(owned, lambda ticket_id: partition_of(ticket_id, partitions)):
            await asyncio.sleep(0)  # keep the worker responsive while a large table is indexed
        lifecycle.progress.recovered(time.time())
        lifecycle.recoveries += 1
        log.info(
            "lifecycle: partitions %s recovered; %d tickets scheduled, %d open (%.2fs)",
            sorted(owned),
            stage.index.scheduled(),
            stage.open_tickets.total(),
            time.monotonic() - started,
        )

    @app.on_partitions_revoked.connect
    async def drop_revoked_partitions(sender, revoked, **kwargs) -> None:  # noqa: ANN001
        topic = app.catalog.requests_classified
        stage.revoke(tp.partition for tp in revoked if tp.topic == topic)

    metrics.register_collector(stage.open_tickets)
    return lifecycle
