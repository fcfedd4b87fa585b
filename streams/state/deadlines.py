"""The deadline index: which ticket has the next warning or breach point, per partition.

A min-heap per owned partition, so the SLA timer looks only at what is due instead of
scanning every ticket every tick. Entries are replaced lazily: `schedule` records the
ticket's current due moment, and a heap entry that no longer matches it is skipped when
popped. A revoked partition is dropped whole.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class DeadlineIndex:
    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[float, str]]] = {}
        self._due: dict[int, dict[str, float]] = {}

    def partitions(self) -> list[int]:
        return list(self._heaps)

    def assign(self, partitions: Iterable[int]) -> None:
        """Start (empty) indexes for these partitions; existing ones are kept."""
        for partition in partitions:
            self._heaps.setdefault(partition, [])
            self._due.setdefault(partition, {})

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._heaps.pop(partition, None)
            self._due.pop(partition, None)

    def clear(self) -> None:
        self._heaps.clear()
        self._due.clear()

    def schedule(self, partition: int, ticket_id: str, due: float | None) -> None:
        """Record the ticket's next point (None: nothing left to fire)."""
        current = self._due.get(partition)
        if current is None:
            return  # not ours (any more)
        if due is None:
            current.pop(ticket_id, None)
            return
        if current.get(ticket_id) == due:
            return
        current[ticket_id] = due
        heapq.heappush(self._heaps[partition], (due, ticket_id))

    def pop_due(self, partition: int, now: float, limit: int) -> list[str]:
        """Up to `limit` tickets of the partition whose point is at or before `now`."""
        heap = self._heaps.get(partition)
        if not heap:
            return []
        current = self._due[partition]
        due_tickets = []
        while heap and heap[0][0] <= now and len(due_tickets) < limit:
            due, ticket_id = heapq.heappop(heap)
            if current.get(ticket_id) != due:
                continue  # superseded by a later schedule()
            del current[ticket_id]
            due_tickets.append(ticket_id)
        return due_tickets

    def next_due(self) -> float | None:
        moments = [heap[0][0] for heap in self._heaps.values() if heap]
        return min(moments) if moments else None

    def scheduled(self) -> int:
        return sum(len(current) for current in self._due.values())
