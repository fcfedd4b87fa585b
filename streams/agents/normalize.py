"""normalize: raw.<channel> → requests.normalized | requests.invalid (customers resolved
through the contact index of streams/agents/identity.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.domain.identity import Lookup
from streams.records import Source
from streams.stages.normalize import NormalizeStage
from streams.state.pending_writes import PendingSends

if TYPE_CHECKING:
    from streams.app import TicketflowApp


@dataclass
class NormalizeAgent:
    stage: NormalizeStage
    # Offsets are committed only once these outputs are acknowledged (streams/state/pending_writes.py).
    sends: PendingSends
    agent: Any


def register(app: TicketflowApp, contacts: Lookup | None) -> NormalizeAgent:
    stage = NormalizeStage(app.catalog, contacts=contacts)
    sends = PendingSends()
    app.pending_writes.append(sends)
    topics = app.pipeline_topics

    @app.agent(topics.raw, name="streams.agents.normalize.normalize")
    async def normalize(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            channel = topics.channel_by_raw_topic.get(message.topic, "unknown")
            source = Source(message.topic, message.partition, message.offset)
            sends.add(topics.emitter.send(stage.process(event.value, channel, source)))

    return NormalizeAgent(stage, sends, normalize)
