"""SLA windows: facts from the lifecycle (keyed by department) → hour and day window counts;
closed windows go to `sla.windows`; expired ones are dropped.

Facts are taken in batches so that a window touched by many facts is written once per batch.
"""

from __future__ import annotations

from streams.app import app
from streams.stages import SlaWindowsStage
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


@app.agent(sla_facts)
async def count_sla_windows(stream):  # noqa: ANN001 - faust stream
    async for events in stream.take_events(500, within=0.5):
        stage.on_facts([(event.message.partition, event.message.offset, event.value) for event in events])


def owned_partitions() -> set[int]:
    topic = sla_facts.get_topic_name()
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


@app.timer(interval=5.0)
async def close_sla_windows() -> None:
    outputs = stage.close_due(owned_partitions())
    if outputs:
        emitter.send(outputs)
