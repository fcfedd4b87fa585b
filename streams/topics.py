"""faust topic objects for the topics the agents read, and the emitter they write through.

All payloads travel as bytes (`raw` serializers); decoding and validation are the stages'
business, so a malformed record reaches a stage and is rejected there instead of failing
inside faust's deserializer.
"""

from __future__ import annotations

import asyncio

import faust

from streams.app import app
from streams.catalog import sla_facts_topic
from streams.models import CHANNELS
from streams.stages import Output

catalog = app.catalog


def _topic(*names: str) -> faust.TopicT:
    return app.topic(*names, key_serializer="raw", value_serializer="raw")


raw_topics = _topic(*catalog.raw_topics)
requests_normalized = _topic(catalog.requests_normalized)
requests_classified = _topic(catalog.requests_classified)
tickets_actions = _topic(catalog.tickets_actions)
sla_facts = _topic(sla_facts_topic(app.conf.id))
customers_profiles = _topic(catalog.customers_profiles)

CHANNEL_BY_RAW_TOPIC = {catalog.raw(channel): channel for channel in CHANNELS}


class Emitter:
    """Sends stage outputs: buffered (`send_soon`), flushed by faust before it commits offsets."""

    def __init__(self) -> None:
        self._topics: dict[str, faust.TopicT] = {}

    def send(self, outputs: list[Output]) -> list[asyncio.Future]:
        """Buffer the outputs; the returned futures complete when the broker acknowledged them."""
        futures = []
        for output in outputs:
            topic = self._topics.get(output.topic)
            if topic is None:
                topic = self._topics[output.topic] = _topic(output.topic)
            futures.append(topic.send_soon(key=output.key, value=output.value, headers=list(output.headers) or None))
        return futures


emitter = Emitter()
