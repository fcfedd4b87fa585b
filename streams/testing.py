"""In-memory stores behind the interfaces of streams/state/stores.py, for tests and benchmarks:
a stage runs on them exactly as on the worker's tables (docs/testing.md)."""

from __future__ import annotations

import orjson

from streams.domain.tickets import TicketState


class MemoryTicketStore:
    """Ticket states by id, copied through JSON as a real store would; `writes` lists changelog writes."""

    def __init__(self):
        self.states: dict[str, bytes] = {}
        self.writes: list[tuple[int, str]] = []

    def get(self, ticket_id):
        raw = self.states.get(ticket_id)
        return None if raw is None else TicketState.model_validate_json(raw)

    def put(self, partition, state, changelog=True):
        self.states[state.ticket_id] = state.model_dump_json().encode()
        if changelog:
            self.writes.append((partition, state.ticket_id))

    def delete(self, partition, ticket_id):
        self.states.pop(ticket_id, None)

    def keys(self):
        return list(self.states)


class MemoryContacts(dict):
    """The contact index as a dict."""

    def put(self, key, value):
        self[key] = value

    def delete(self, key):
        self.pop(key, None)


class MemoryWindowStore:
    """Window aggregates by key; `written` lists the keys sent to the changelog, in order."""

    def __init__(self):
        self.values: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.written: list[str] = []

    def get(self, key):
        raw = self.values.get(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, partition, key, aggregate, changelog=True):
        self.values[key] = orjson.dumps(aggregate)
        if changelog:
            self.written.append(key)

    def delete(self, partition, key):
        self.values.pop(key, None)
        self.deleted.append(key)

    def keys(self):
        return list(self.values)


class MemoryCustomerStore:
    """Customer records by id."""

    def __init__(self):
        self.records = {}

    def get(self, customer_id):
        return self.records.get(customer_id)

    def put(self, partition, customer_id, record):
        self.records[customer_id] = record
