"""normalize: raw.<channel> → requests.normalized | requests.invalid (customers resolved
through the contact index of streams/agents/identity.py)."""

from __future__ import annotations

from streams.agents import identity
from streams.app import app
from streams.stages import NormalizeStage, Source
from streams.state.pending_writes import PendingSends
from streams.topics import CHANNEL_BY_RAW_TOPIC, emitter, raw_topics

stage = NormalizeStage(app.catalog, contacts=identity.stage.lookup)
# Offsets are committed only once these outputs are acknowledged (streams/state/pending_writes.py).
sends = PendingSends()
app.pending_writes.append(sends)


@app.agent(raw_topics)
async def normalize(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        channel = CHANNEL_BY_RAW_TOPIC.get(message.topic, "unknown")
        sends.add(emitter.send(stage.process(event.value, channel, Source(message.topic, message.partition, message.offset))))
