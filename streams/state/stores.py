"""The store interfaces the stages see (docs/architecture.md); the faust-backed stores are in
streams/tables.py, in-memory ones for tests in tests/state/memory.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from streams.domain.customers import CustomerRecord
from streams.domain.tickets import TicketState


class ContactStore(Protocol):
    """The contact index as the identity stage sees it (keys are strings, values customer ids
    or, under `profile_key`, the profile's contact keys)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class CustomerStore(Protocol):
    """Per-customer records (segment, recent requests), co-partitioned with requests.normalized."""

    def get(self, customer_id: str) -> CustomerRecord | None: ...

    def put(self, partition: int, customer_id: str, record: CustomerRecord) -> None: ...


class TicketStore(Protocol):
    """The tickets table, as the lifecycle stage sees it."""

    def get(self, ticket_id: str) -> TicketState | None: ...

    def put(self, partition: int, state: TicketState, *, changelog: bool = True) -> None: ...

    def delete(self, partition: int, ticket_id: str) -> None: ...

    def keys(self) -> Iterable[str]: ...


class WindowStore(Protocol):
    """The SLA windows table, as the windows stage sees it (JSON-able aggregates by window key)."""

    def get(self, key: str) -> dict | None: ...

    def put(self, partition: int, key: str, aggregate: dict, *, changelog: bool = True) -> None: ...

    def delete(self, partition: int, key: str) -> None: ...

    def keys(self) -> list[str]: ...
