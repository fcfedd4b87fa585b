"""identity: customers.profiles → the contact index that normalize resolves customers with.

The index maps contact ids (phone, e-mail, WeChat Work id, customer number) to customer ids.
It is a faust **GlobalTable**: a request arrives on raw.<channel> keyed by whatever contact
the channel had, so the normalize agent on any worker, for any partition, may need any
contact — the index cannot be co-partitioned with the raw topics the way the tickets table is
with requests.classified. Every worker therefore holds the whole index (small: a few short
strings per customer) and restores it from the changelog on start. The changelog has one
partition and recovery reads it with a buffer of one record, the settings faust documents
for global tables shared by several workers.

Writes come from this agent, which owns the profiles of its partitions of customers.profiles
(keyed by customer id), so the profile-to-contacts bookkeeping for one customer is only ever
written by one worker. When two profiles name the same contact, the one processed last wins.
A request that arrives before its customer's profile gets the fallback id (eventual).
"""

from __future__ import annotations

from streams.app import app
from streams.catalog import CONTACT_INDEX_TABLE
from streams.stages import IdentityStage, Source
from streams.topics import customers_profiles

contact_index = app.GlobalTable(
    CONTACT_INDEX_TABLE,
    default=None,
    key_type=bytes,
    value_type=bytes,
    partitions=1,
    recovery_buffer_size=1,
    help="Contact id → customer id (and customer id → its contact ids), from customers.profiles.",
)


class GlobalContactStore:
    """The global table behind the small `ContactStore` interface; every write goes to
    partition 0 of its changelog (there is only one)."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust GlobalTable
        self.table = table

    def get(self, key: str) -> str | None:
        raw = self.table.data.get(key.encode())
        return None if raw is None else raw.decode()

    def put(self, key: str, value: str) -> None:
        self.table.data[key.encode()] = value.encode()
        self.table.send_changelog(0, key.encode(), value.encode())

    def delete(self, key: str) -> None:
        self.table.data.pop(key.encode(), None)
        self.table.send_changelog(0, key.encode(), None)


stage = IdentityStage(GlobalContactStore(contact_index))


@app.agent(customers_profiles)
async def index_contacts(stream):  # noqa: ANN001 - faust stream
    async for event in stream.events():
        message = event.message
        stage.process(event.value, Source(message.topic, message.partition, message.offset))
