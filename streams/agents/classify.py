"""classify: requests.normalized → requests.classified, with the customer's segment and repeat
requests from a per-customer table (co-partitioned: both topics are keyed by customer id).

- `classify`: classify each request, link repeats, remember it for the customer
- `remember_customer_profiles`: customers.profiles → the customer's CRM tier and since-date
"""

from __future__ import annotations

from streams.app import app
from streams.stages import ClassifyStage, Source
from streams.state.pending_writes import PendingSends
from streams.tables import customer_store, partition_of
from streams.topics import customers_profiles, emitter, requests_normalized

settings = app.ticketflow
stage = ClassifyStage(
    app.catalog,
    settings.classifier,
    customer_store,
    repeat_window_seconds=settings.repeat_window_hours * 3600,
    new_customer_days=settings.new_customer_days,
    local_zone=settings.report_timezone,
    key_partition=lambda customer_id: partition_of(customer_id, settings.partitions),
)
# Offsets are committed only once these outputs are acknowledged (streams/state/pending_writes.py).
sends = PendingSends()
app.pending_writes.append(sends)


@app.agent(requests_normalized)
async def classify(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        source = Source(message.topic, message.partition, message.offset)
        sends.add(emitter.send(stage.process(event.value, source, message.partition)))


@app.agent(customers_profiles)
async def remember_customer_profiles(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        stage.on_profile(event.value, message.partition, Source(message.topic, message.partition, message.offset))
