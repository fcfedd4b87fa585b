"""SLA windows: facts from the lifecycle (keyed by department) → hour and day window counts;
closed windows go to `sla.windows`; expired ones are dropped.

Facts are taken in batches so that a window touched by many facts is written once per batch.
That a closed window was emitted is recorded once its event is acknowledged; the batches'
writes queue behind such records (`pending_writes`), and offsets are committed after them.
"""

from __future__ import annotations

from streams.app import app
from streams.stages import SlaWindowsStage
from streams.state.pending_writes import PendingWrites
from streams.tables import partition_of, window_store
from streams.topics import emitter, sla_facts

settings = app.ticketflow


stage = SlaWindowsStage(
    app.catalog,
    store=window_store,
    zone=settings.report_timezone,
    grace_seconds=settings.window_grace_seconds,
    retention_seconds={"hour": settings.hour_window_retention_hours * 3600,
                       "day": settings.day_window_retention_days * 86400},  # fmt: skip
    partition_of=lambda department: partition_of(department, settings.partitions),
)
pending_writes = PendingWrites(window_store.write_changelog)
app.pending_writes.append(pending_writes)


@app.agent(sla_facts)
async def count_sla_windows(stream):  # noqa: ANN001 - faust stream
    async for events in stream.take_events(500, within=0.5):
        written: list[tuple[int, str]] = []
        stage.on_facts([(event.message.partition, event.message.offset, event.value) for event in events],
                       deferred=written)  # fmt: skip
        pending_writes.add([], written)


def owned_partitions() -> set[int]:
    topic = sla_facts.get_topic_name()
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


@app.timer(interval=5.0)
async def close_sla_windows() -> None:
    written: list[tuple[int, str]] = []
    outputs = stage.close_due(owned_partitions(), deferred=written)
    pending_writes.add(emitter.send(outputs), written)
