"""classify: requests.normalized → requests.classified, with the customer's segment and repeat
requests from a per-customer table (co-partitioned: both topics are keyed by customer id).

- `classify`: classify each request, link repeats, remember it for the customer
- `remember_customer_profiles`: customers.profiles → the customer's CRM tier and since-date
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from streams.partitioning import partition_of
from streams.records import Source
from streams.stages.classify import ClassifyStage
from streams.state.pending_writes import PendingSends

if TYPE_CHECKING:
    from streams.app import TicketflowApp


@dataclass
class ClassifyAgent:
    stage: ClassifyStage
    # Offsets are committed only once these outputs are acknowledged (streams/state/pending_writes.py).
    sends: PendingSends


def register(app: TicketflowApp) -> ClassifyAgent:
    settings, topics = app.ticketflow, app.pipeline_topics
    stage = ClassifyStage(
        app.catalog,
        settings.classifier,
        app.pipeline_tables.customers,
        repeat_window_seconds=settings.repeat_window_hours * 3600,
        new_customer_days=settings.new_customer_days,
        local_zone=settings.report_timezone,
        key_partition=lambda customer_id: partition_of(customer_id, settings.partitions),
    )
    sends = PendingSends()
    app.pending_writes.append(sends)

    @app.agent(topics.requests_normalized, name="streams.agents.classify.classify")
    async def classify(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            source = Source(message.topic, message.partition, message.offset)
            sends.add(topics.emitter.send(stage.process(event.value, source, message.partition)))

    @app.agent(topics.customers_profiles, name="streams.agents.classify.remember_customer_profiles")
    async def remember_customer_profiles(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            stage.on_profile(event.value, message.partition, Source(message.topic, message.partition, message.offset))

    return ClassifyAgent(stage, sends)
