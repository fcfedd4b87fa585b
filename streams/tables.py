"""The worker's tables behind the store interfaces of streams/state/stores.py: tickets (by ticket
id, co-partitioned with requests.classified and tickets.actions), SLA windows (partitioned by
department), customers (by customer id, co-partitioned with requests.normalized) and the
global contact index (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from streams.catalog import (
    CARE_TABLE,
    CONTACT_INDEX_TABLE,
    CUSTOMERS_TABLE,
    FOLLOWUPS_TABLE,
    TICKETS_TABLE,
    WINDOWS_TABLE,
)
from streams.domain.customers import CustomerRecord
from streams.domain.tickets import TicketState
from streams.stages.followup_records import CareRecord, FollowupRecord
from streams.state.codec import decode_ticket, encode_ticket

if TYPE_CHECKING:
    from streams.app import TicketflowApp


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


class TicketTableStore(ChangelogStore):
    """Ticket states, compact (streams/state/codec.py), by ticket id."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        super().__init__(table, encode_ticket, decode_ticket)

    def put(self, partition: int, state: TicketState, *, changelog: bool = True) -> None:
        self.put_value(partition, state.ticket_id, state, changelog=changelog)


class WindowTableStore(ChangelogStore):
    """Window aggregates as JSON."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        super().__init__(table, orjson.dumps, orjson.loads)

    def put(self, partition: int, key: str, aggregate: dict, *, changelog: bool = True) -> None:
        self.put_value(partition, key, aggregate, changelog=changelog)


class CustomerTableStore(ChangelogStore):
    """Customer records as JSON, co-partitioned with requests.normalized."""

    def __init__(self, table) -> None:  # noqa: ANN001 - a faust Table
        super().__init__(
            table,
            lambda record: record.model_dump_json(exclude_defaults=True).encode(),
            CustomerRecord.model_validate_json,
        )

    def put(self, partition: int, customer_id: str, record: CustomerRecord) -> None:
        self.put_value(partition, customer_id, record)


def record_store(table, model) -> ChangelogStore:  # noqa: ANN001 - a faust Table and a pydantic model
    """Pydantic records as JSON (defaults left out)."""
    return ChangelogStore(
        table, lambda value: value.model_dump_json(exclude_defaults=True).encode(), model.model_validate_json
    )


class ContactIndexStore:
    """The global contact index behind the `ContactStore` interface; every write goes to
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


class Tables:
    """Every table of one worker app, and the stores over them."""

    def __init__(self, app: TicketflowApp) -> None:
        def table(name: str, help_text: str):  # noqa: ANN202 - a faust Table
            # Bytes keys and values (the stores encode), one partition per topic partition.
            return app.Table(
                name,
                default=None,
                key_type=bytes,
                value_type=bytes,
                partitions=app.ticketflow.partitions,
                help=help_text,
            )

        self.tickets_table = table(TICKETS_TABLE, "Ticket state and SLA clocks, by ticket id.")
        self.windows_table = table(
            WINDOWS_TABLE,
            "SLA window aggregates, by size|start|department|channel|priority (partitioned by department).",
        )
        self.customers_table = table(
            CUSTOMERS_TABLE, "Per customer: CRM segment and recent requests (repeat detection), by customer id."
        )
        # A request arrives keyed by whatever contact its channel had, so normalize on any worker
        # may need any contact: every worker holds the whole (small) index, restored from a
        # one-partition changelog with a buffer of one record, as faust documents for global tables.
        self.contact_index = app.GlobalTable(
            CONTACT_INDEX_TABLE,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=1,
            recovery_buffer_size=1,
            help="Contact id → customer id (and customer id → its contact ids), from customers.profiles.",
        )
        self.followups_table = table(
            FOLLOWUPS_TABLE,
            "Per ticket: surveys and callbacks waiting, answers, the second follow-up (docs/followups.md).",
        )
        self.care_table = table(CARE_TABLE, "Per customer: CRM profile, contact log, care messages held.")
        self.tickets = TicketTableStore(self.tickets_table)
        self.followups = record_store(self.followups_table, FollowupRecord)
        self.care = record_store(self.care_table, CareRecord)
        self.windows = WindowTableStore(self.windows_table)
        self.customers = CustomerTableStore(self.customers_table)
        self.contacts = ContactIndexStore(self.contact_index)
