"""classify: requests.normalized → requests.classified."""

from __future__ import annotations

from streams.app import app
from streams.stages import ClassifyStage, Source
from streams.topics import emitter, requests_normalized

stage = ClassifyStage(app.catalog, app.ticketflow.classifier)


@app.agent(requests_normalized)
async def classify(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        emitter.send(stage.process(event.value, Source(message.topic, message.partition, message.offset)))
