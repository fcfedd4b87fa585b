"""followups: the ticket side of follow-ups (docs/followups.md).

- after every lifecycle step (an observer of `agents.lifecycle`): plan the survey of a ticket
  resolved or closed, in the same step, its state recorded once the step's events are acknowledged
- `apply_feedback`: feedback → answers, reopen (tickets.actions), followup.escalated, second follow-up
- `take_back_held_followups`: contact-returns → follow-ups the customer's budget held, kept again
- `fire_followups`: the timer — for the partitions this worker owns, from the follow-up index

Keyed by ticket id, co-partitioned with the tickets; the index is rebuilt from the recovered
followups table for exactly the partitions owned, and dropped for revoked ones.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from streams.agents.timers import fire_at_due_moments
from streams.catalog import contact_requests_topic
from streams.partitioning import partition_of
from streams.records import Source
from streams.stages.followups import FollowupStage, comment_judge
from streams.state.deadlines import DeadlineIndex
from streams.state.pending_writes import PendingWrites

if TYPE_CHECKING:
    from streams.agents.lifecycle import LifecycleAgents
    from streams.app import TicketflowApp

log = logging.getLogger(__name__)


class FollowupAgents:
    def __init__(self, app: TicketflowApp) -> None:
        settings, tables = app.ticketflow, app.pipeline_tables
        self.app = app
        self.stage = FollowupStage(
            app.catalog,
            file=settings.followups,
            policies=settings.policies,
            tickets=tables.tickets,
            store=tables.followups,
            index=DeadlineIndex(),
            requests_topic=contact_requests_topic(settings.app_id),
            judge=comment_judge(settings.classifier),
            key_partition=lambda ticket_id: partition_of(ticket_id, settings.partitions),
            retention_seconds=settings.ticket_retention_days * 86400,
        )
        self.pending_writes = PendingWrites(tables.followups.write_changelog)
        app.pending_writes.append(self.pending_writes)
        self.recoveries = 0

    def on_tickets(self, changed: list[tuple[int, str]], deferred: list[tuple[int, str]]) -> list:
        return self.stage.on_tickets(changed, deferred)

    def send(self, outputs: list, written: list[tuple[int, str]]) -> None:
        self.pending_writes.add(self.app.pipeline_topics.emitter.send(outputs), written)

    def fire_due_now(self) -> None:
        now = time.time()
        for partition in self.stage.index.partitions():
            deferred: list[tuple[int, str]] = []
            self.send(self.stage.fire_due(partition, now, deferred=deferred), deferred)

    def owned_partitions(self) -> set[int]:
        topic = self.app.catalog.requests_classified
        return {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == topic}


def register(app: TicketflowApp, lifecycle: LifecycleAgents) -> FollowupAgents:
    followups = FollowupAgents(app)
    stage, topics, tick = followups.stage, app.pipeline_topics, app.ticketflow.sla_tick_seconds
    lifecycle.observers.append(followups)

    @app.agent(topics.feedback, name="streams.agents.followups.apply_feedback")
    async def apply_feedback(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            written: list[tuple[int, str]] = []
            source = Source(message.topic, message.partition, message.offset)
            followups.send(stage.on_feedback(event.value, message.partition, source, deferred=written), written)

    @app.agent(topics.contact_returns, name="streams.agents.followups.take_back_held_followups")
    async def take_back_held_followups(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            written: list[tuple[int, str]] = []
            followups.send(stage.on_return(event.value, event.message.partition, deferred=written), written)

    async def fire_followups() -> None:
        """Wakes at the next follow-up due (or every `sla_tick_seconds` at the latest)."""
        await fire_at_due_moments("follow-up timer", followups.fire_due_now, stage.index.next_due, tick)

    app.task(fire_followups)

    @app.pipeline_tables.followups_table.on_recover
    async def rebuild_followup_index() -> None:
        owned = followups.owned_partitions()
        count = stage.rebuild(owned, lambda key: partition_of(key, app.ticketflow.partitions))
        followups.recoveries += 1
        log.info("followups: partitions %s recovered; %d tickets with follow-ups waiting", sorted(owned), count)

    @app.on_partitions_revoked.connect
    async def drop_revoked_followups(sender, revoked, **kwargs) -> None:  # noqa: ANN001
        topic = app.catalog.requests_classified
        stage.revoke(tp.partition for tp in revoked if tp.topic == topic)

    return followups
