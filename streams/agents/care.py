"""care: the customer side of follow-ups and customer care (docs/followups.md).

- `decide_contacts`: contact-requests → the contact budget decides: followup.*_due, cancelled,
  or held (contact-returns, back to the ticket's partition)
- `keep_care_profiles`: customers.profiles → the customer's profile and its place in the calendar
- `send_care`: the care timer — each day's occasions, decided up to a minute ahead and sent at
  `send_at` (every missed day after a restart), and the messages held, for the partitions this
  worker owns

Keyed by customer id; the calendar is rebuilt from the recovered customer-care table for the
partitions owned, and dropped for revoked ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from streams import metrics
from streams.catalog import contact_requests_topic, contact_returns_topic
from streams.partitioning import partition_of
from streams.stages.care import CareStage
from streams.state.pending_writes import PendingWrites

if TYPE_CHECKING:
    from streams.app import TicketflowApp

log = logging.getLogger(__name__)


class CareAgents:
    def __init__(self, app: TicketflowApp) -> None:
        settings, tables = app.ticketflow, app.pipeline_tables
        self.app = app
        self.stage = CareStage(
            app.catalog,
            followup_file=settings.followups,
            care_file=settings.care,
            store=tables.care,
            returns_topic=contact_returns_topic(settings.app_id),
            key_partition=lambda customer_id: partition_of(customer_id, settings.partitions),
        )
        self.pending_writes = PendingWrites(tables.care.write_changelog)
        app.pending_writes.append(self.pending_writes)
        self.recoveries = 0

    def send(self, outputs: list, written: list[tuple[int, str]]) -> None:
        self.pending_writes.add(self.app.pipeline_topics.emitter.send(outputs), written)

    def owned_partitions(self) -> set[int]:
        topic = contact_requests_topic(self.app.ticketflow.app_id)
        return {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == topic}


def register(app: TicketflowApp) -> CareAgents:
    care = CareAgents(app)
    stage, topics, tick = care.stage, app.pipeline_topics, app.ticketflow.sla_tick_seconds

    @app.agent(topics.contact_requests, name="streams.agents.care.decide_contacts")
    async def decide_contacts(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            written: list[tuple[int, str]] = []
            care.send(stage.on_request(event.value, event.message.partition, deferred=written), written)

    @app.agent(topics.customers_profiles, name="streams.agents.care.keep_care_profiles")
    async def keep_care_profiles(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            written: list[tuple[int, str]] = []
            care.send(stage.on_profile(event.value, deferred=written), written)

    async def send_care() -> None:
        """Wakes at the next day's `send_at` or held message (every `sla_tick_seconds` at the latest)."""
        while True:
            try:
                prepared = []
                for outputs, written, release in stage.steps(time.time):
                    if release <= time.time():
                        care.send(outputs, written)
                    else:
                        prepared.append((outputs, written, release))
                    await asyncio.sleep(0)  # a large day is decided chunk by chunk
                for outputs, written, release in prepared:  # decided ahead: sent at send_at
                    await asyncio.sleep(max(0.0, release - time.time()))
                    care.send(outputs, written)
            except Exception:  # noqa: BLE001 - the timer must outlive any one bad tick
                log.exception("care timer: tick failed")
                metrics.STAGE_ERRORS.labels("timer").inc()
            next_due = stage.next_due(time.time())
            delay = tick if next_due is None else min(tick, next_due - time.time())
            await asyncio.sleep(max(0.0, delay))

    app.task(send_care)

    @app.pipeline_tables.care_table.on_recover
    async def rebuild_care_calendar() -> None:
        owned = care.owned_partitions()
        started = time.monotonic()
        placed = stage.rebuild(owned, time.time())
        care.recoveries += 1
        log.info(
            "care: partitions %s recovered; %d customers in the calendar (%.2fs)",
            sorted(owned),
            placed,
            time.monotonic() - started,
        )

    @app.on_partitions_revoked.connect
    async def drop_revoked_care(sender, revoked, **kwargs) -> None:  # noqa: ANN001
        topic = contact_requests_topic(app.ticketflow.app_id)
        stage.revoke(tp.partition for tp in revoked if tp.topic == topic)

    return care
