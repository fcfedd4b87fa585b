"""identity: customers.profiles → the contact index (streams/tables.py) that normalize resolves
customers with. Writes come from this agent, which owns the profiles of its partitions of
customers.profiles, so one customer's bookkeeping is only ever written by one worker; when two
profiles name the same contact, the one processed last wins. A request that arrives before its
customer's profile gets the fallback id (eventual)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.records import Source
from streams.stages.identity import IdentityStage

if TYPE_CHECKING:
    from streams.app import TicketflowApp


def register(app: TicketflowApp) -> IdentityStage:
    stage = IdentityStage(app.pipeline_tables.contacts)

    @app.agent(app.pipeline_topics.customers_profiles, name="streams.agents.identity.index_contacts")
    async def index_contacts(stream):  # noqa: ANN001 - faust stream
        async for event in stream.events():
            message = event.message
            stage.process(event.value, Source(message.topic, message.partition, message.offset))

    return stage
