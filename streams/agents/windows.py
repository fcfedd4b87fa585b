"""SLA windows: facts from the lifecycle (keyed by department) → hour and day window counts;
closed windows go to `sla.windows`; expired ones are dropped.

Facts are taken in batches so that a window touched by many facts is written once per batch.
That a closed window was emitted is recorded once its event is acknowledged; the batches'
writes queue behind such records (`pending_writes`), and offsets are committed after them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.partitioning import partition_of
from streams.stages.windows import SlaWindowsStage
from streams.state.pending_writes import PendingWrites

if TYPE_CHECKING:
    from streams.app import TicketflowApp


def register(app: TicketflowApp) -> SlaWindowsStage:
    settings, topics, store = app.ticketflow, app.pipeline_topics, app.pipeline_tables.windows
    stage = SlaWindowsStage(
        app.catalog,
        store=store,
        zone=settings.report_timezone,
        grace_seconds=settings.window_grace_seconds,
        retention_seconds={
            "hour": settings.hour_window_retention_hours * 3600,
            "day": settings.day_window_retention_days * 86400,
        },
        partition_of=lambda department: partition_of(department, settings.partitions),
    )
    pending_writes = PendingWrites(store.write_changelog)
    app.pending_writes.append(pending_writes)
    facts_topic = topics.sla_facts.get_topic_name()

    @app.agent(topics.sla_facts, name="streams.agents.windows.count_sla_windows")
    async def count_sla_windows(stream):  # noqa: ANN001 - faust stream
        async for events in stream.take_events(500, within=0.5):
            written: list[tuple[int, str]] = []
            stage.on_facts(
                [(event.message.partition, event.message.offset, event.value) for event in events], deferred=written
            )
            pending_writes.add([], written)

    @app.timer(interval=5.0, name="streams.agents.windows.close_sla_windows")
    async def close_sla_windows() -> None:
        owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == facts_topic}
        written: list[tuple[int, str]] = []
        outputs = stage.close_due(owned, deferred=written)
        pending_writes.add(topics.emitter.send(outputs), written)

    return stage
