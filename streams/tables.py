"""The worker's tables behind the small store interfaces the stages use: tickets (by ticket id,
co-partitioned with requests.classified and tickets.actions), SLA windows (partitioned by
department) and customers (by customer id, co-partitioned with requests.normalized).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiokafka.partitioner import murmur2

from streams.app import app
from streams.catalog import CUSTOMERS_TABLE, TICKETS_TABLE, WINDOWS_TABLE
from streams.domain.customers import CustomerRecord
from streams.domain.tickets import TicketState
from streams.state.codec import decode_ticket, encode_ticket

def _bytes_table(name: str, help_text: str):  # noqa: ANN202 - a faust Table
    """A table of bytes keys and values (the stores encode), one partition per topic partition."""
    return app.Table(name, default=None, key_type=bytes, value_type=bytes, partitions=app.ticketflow.partitions,
                     help=help_text)  # fmt: skip


tickets_table = _bytes_table(TICKETS_TABLE, "Ticket state and SLA clocks, by ticket id.")


class ChangelogStore:
    """Values in a faust table under string keys, encoded and decoded by the given functions.

    Writes go to the changelog partition the caller names, so code outside a stream (the SLA
    timer, the window closer) can write too; `put(changelog=False)` keeps a write in memory
    until `write_changelog`."""

    def __init__(self, table, encode: Callable[[Any], bytes], decode: Callable[[bytes], Any]) -> None:  # noqa: ANN001
        self.table = table
        self.encode = encode
        self.decode = decode

    def get(self, key: str) -> Any:
        raw = self.table.data.get(key.encode())
        return None if raw is None else self.decode(raw)

    def put_value(self, partition: int, key: str, value: Any, *, changelog: bool = True) -> None:
        encoded, raw = key.encode(), self.encode(value)
        self.table.data[encoded] = raw
        if changelog:
            self.table.send_changelog(partition, encoded, raw)

    def write_changelog(self, partition: int, key: str) -> None:
        """Write the key's current value to the changelog (after a deferred put)."""
        raw = self.table.data.get(key.encode())
        if raw is not None:
            self.table.send_changelog(partition, key.encode(), raw)

    def delete(self, partition: int, key: str) -> None:
        self.table.data.pop(key.encode(), None)
        self.table.send_changelog(partition, key.encode(), None)  # a tombstone: compaction drops the key

    def keys(self) -> list[str]:
        """A snapshot of the keys held (a timer may write meanwhile)."""
        return [key.decode() for key, raw in list(self.table.data.items()) if raw is not None]


class FaustTicketStore(ChangelogStore):
    """Ticket states, compact (streams/state/codec.py), by ticket id."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        super().__init__(table, encode_ticket, decode_ticket)

    def put(self, partition: int, state: TicketState, *, changelog: bool = True) -> None:
        self.put_value(partition, state.ticket_id, state, changelog=changelog)

    def partition_of(self, ticket_id: str) -> int:
        """The partition holding a ticket: as recorded by the memory store while it replayed
        the changelog (faust keeps that map anyway), else the default partitioner's answer."""
        recorded = getattr(self.table.data, "_key_partition", {}).get(ticket_id.encode())
        return recorded if recorded is not None else partition_of(ticket_id, self.table.partitions or 1)


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives a key: tickets, customers and
    departments are all placed this way."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


ticket_store = FaustTicketStore(tickets_table)


windows_table = _bytes_table(
    WINDOWS_TABLE, "SLA window aggregates, by size|start|department|channel|priority (partitioned by department)."
)


class FaustWindowStore(ChangelogStore):
    """Window aggregates as JSON."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        super().__init__(table, orjson.dumps, orjson.loads)

    def put(self, partition: int, key: str, aggregate: dict, *, changelog: bool = True) -> None:
        self.put_value(partition, key, aggregate, changelog=changelog)


window_store = FaustWindowStore(windows_table)


customers_table = _bytes_table(
    CUSTOMERS_TABLE, "Per customer: CRM segment and recent requests (repeat detection), by customer id."
)


class FaustCustomerStore(ChangelogStore):
    """Customer records as JSON, co-partitioned with requests.normalized."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        super().__init__(table, lambda record: record.model_dump_json(exclude_defaults=True).encode(),
                         CustomerRecord.model_validate_json)  # fmt: skip

    def put(self, partition: int, customer_id: str, record: CustomerRecord) -> None:
        self.put_value(partition, customer_id, record)


customer_store = FaustCustomerStore(customers_table)
