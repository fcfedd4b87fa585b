"""The tickets table (keyed by ticket id, co-partitioned with requests.classified and
tickets.actions) behind the small `TicketStore` interface the lifecycle stage uses.
"""

from __future__ import annotations


from aiokafka.partitioner import murmur2

from streams.app import app
import orjson

from streams.catalog import CUSTOMERS_TABLE, TICKETS_TABLE, WINDOWS_TABLE
from streams.domain.customers import CustomerRecord
from streams.domain.tickets import TicketState
from streams.state.codec import decode_ticket, encode_ticket

tickets_table = app.Table(
    TICKETS_TABLE,
    default=None,
    key_type=bytes,
    value_type=bytes,
    partitions=app.ticketflow.partitions,
    help="Ticket state and SLA clocks, by ticket id.",
)


class FaustTicketStore:
    """Ticket states as compact bytes (streams/state/codec.py) in the faust table; writes go to
    the changelog partition given by the caller, so the SLA timer (outside any stream) can
    write too."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        self.table = table

    def get(self, ticket_id: str) -> TicketState | None:
        raw = self.table.data.get(ticket_id.encode())
        return None if raw is None else decode_ticket(raw)

    def put(self, partition: int, state: TicketState, *, changelog: bool = True) -> None:
        key, value = state.ticket_id.encode(), encode_ticket(state)
        self.table.data[key] = value
        if changelog:
            self.table.send_changelog(partition, key, value)

    def write_changelog(self, partition: int, ticket_id: str) -> None:
        """Write the ticket's current state to the changelog (after a deferred `put`)."""
        key = ticket_id.encode()
        value = self.table.data.get(key)
        if value is not None:
            self.table.send_changelog(partition, key, value)

    def delete(self, partition: int, ticket_id: str) -> None:
        key = ticket_id.encode()
        self.table.data.pop(key, None)
        self.table.send_changelog(partition, key, None)  # a tombstone: compaction drops the key

    def keys(self) -> list[str]:
        """A snapshot of the ticket ids held (the timer may write meanwhile)."""
        return [key.decode() for key in list(self.table.data.keys())]

    def partition_of(self, ticket_id: str) -> int:
        """The partition holding a ticket: as recorded by the memory store while it replayed
        the changelog (faust keeps that map anyway), else the default partitioner's answer."""
        recorded = getattr(self.table.data, "_key_partition", {}).get(ticket_id.encode())
        return recorded if recorded is not None else partition_of(ticket_id, self.table.partitions or 1)


def partition_of(ticket_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a ticket id (how every producer keys tickets)."""
    return (murmur2(ticket_id.encode()) & 0x7FFFFFFF) % partitions


ticket_store = FaustTicketStore(tickets_table)


windows_table = app.Table(
    WINDOWS_TABLE,
    default=None,
    key_type=bytes,
    value_type=bytes,
    partitions=app.ticketflow.partitions,
    help="SLA window aggregates, by size|start|department|channel|priority (partitioned by department).",
)


class FaustWindowStore:
    """Window aggregates as JSON in the faust table; changelog partition given by the caller."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        self.table = table

    def get(self, key: str) -> dict | None:
        raw = self.table.data.get(key.encode())
        return None if raw is None else orjson.loads(raw)

    def put(self, partition: int, key: str, aggregate: dict) -> None:
        encoded, value = key.encode(), orjson.dumps(aggregate)
        self.table.data[encoded] = value
        self.table.send_changelog(partition, encoded, value)

    def delete(self, partition: int, key: str) -> None:
        encoded = key.encode()
        self.table.data.pop(encoded, None)
        self.table.send_changelog(partition, encoded, None)

    def keys(self) -> list[str]:
        return [key.decode() for key, value in list(self.table.data.items()) if value is not None]


window_store = FaustWindowStore(windows_table)


customers_table = app.Table(
    CUSTOMERS_TABLE,
    default=None,
    key_type=bytes,
    value_type=bytes,
    partitions=app.ticketflow.partitions,
    help="Per customer: CRM segment and recent requests (repeat detection), by customer id.",
)


class FaustCustomerStore:
    """Customer records as JSON in the faust table, co-partitioned with requests.normalized."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        self.table = table

    def get(self, customer_id: str) -> CustomerRecord | None:
        raw = self.table.data.get(customer_id.encode())
        return None if raw is None else CustomerRecord.model_validate_json(raw)

    def put(self, partition: int, customer_id: str, record: CustomerRecord) -> None:
        key, value = customer_id.encode(), record.model_dump_json(exclude_defaults=True).encode()
        self.table.data[key] = value
        self.table.send_changelog(partition, key, value)


customer_store = FaustCustomerStore(customers_table)
