"""The tickets table (keyed by ticket id, co-partitioned with requests.classified and
tickets.actions) behind the small `TicketStore` interface the lifecycle stage uses.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiokafka.partitioner import murmur2

from streams.app import app
from streams.catalog import TICKETS_TABLE
from streams.domain.tickets import TicketState

tickets_table = app.Table(
    TICKETS_TABLE,
    default=None,
    key_type=bytes,
    value_type=bytes,
    partitions=app.ticketflow.partitions,
    help="Ticket state and SLA clocks, by ticket id.",
)


class FaustTicketStore:
    """Ticket states as JSON bytes in the faust table; writes go to the changelog partition
    given by the caller, so the SLA timer (outside any stream) can write too."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        self.table = table

    def get(self, ticket_id: str) -> TicketState | None:
        raw = self.table.data.get(ticket_id.encode())
        return None if raw is None else TicketState.model_validate_json(raw)

    def put(self, partition: int, state: TicketState) -> None:
        key, value = state.ticket_id.encode(), state.model_dump_json().encode()
        self.table.data[key] = value
        self.table.send_changelog(partition, key, value)

    def items(self) -> Iterator[tuple[str, TicketState]]:
        for key, raw in list(self.table.data.items()):
            if raw is not None:
                yield key.decode(), TicketState.model_validate_json(raw)


def partition_of(ticket_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a ticket id (how every producer keys tickets)."""
    return (murmur2(ticket_id.encode()) & 0x7FFFFFFF) % partitions


ticket_store = FaustTicketStore(tickets_table)
