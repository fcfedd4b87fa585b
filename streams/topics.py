"""faust topic objects for the topics the agents read, and the emitter they write through.

All payloads travel as bytes (`raw` serializers); decoding and validation are the stages'
business, so a malformed record reaches a stage and is rejected there instead of failing
inside faust's deserializer.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import faust

from streams.catalog import sla_facts_topic
from streams.models import CHANNELS
from streams.records import Output

if TYPE_CHECKING:
    from streams.app import TicketflowApp


class Emitter:
    """Sends stage outputs: buffered (`send_soon`), flushed by faust before it commits offsets."""

    def __init__(self, app: TicketflowApp) -> None:
        self.app = app
        self._topics: dict[str, faust.TopicT] = {}

    def send(self, outputs: list[Output]) -> list[asyncio.Future]:
        """Buffer the outputs; the returned futures complete when the broker acknowledged them."""
        futures = []
        for output in outputs:
            topic = self._topics.get(output.topic)
            if topic is None:
                topic = self._topics[output.topic] = bytes_topic(self.app, output.topic)
            futures.append(topic.send_soon(key=output.key, value=output.value, headers=list(output.headers) or None))
        return futures


def bytes_topic(app: faust.App, *names: str) -> faust.TopicT:
    return app.topic(*names, key_serializer="raw", value_serializer="raw")


class Topics:
    """The topics one worker app reads, and its emitter."""

    def __init__(self, app: TicketflowApp) -> None:
        catalog = app.catalog
        self.raw = bytes_topic(app, *catalog.raw_topics)
        self.requests_normalized = bytes_topic(app, catalog.requests_normalized)
        self.requests_classified = bytes_topic(app, catalog.requests_classified)
        self.tickets_actions = bytes_topic(app, catalog.tickets_actions)
        self.sla_facts = bytes_topic(app, sla_facts_topic(app.conf.id))
        self.customers_profiles = bytes_topic(app, catalog.customers_profiles)
        self.channel_by_raw_topic = {catalog.raw(channel): channel for channel in CHANNELS}
        self.emitter = Emitter(app)
