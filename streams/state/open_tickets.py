"""Open-ticket counts per owned partition, by owning department and priority.

Kept in step with every state change (`update(old, new)`) and rebuilt from the table after a
rebalance; exported as the `ticketflow_open_tickets` gauge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.domain.tickets import TicketState

AWAITING = ("", "awaiting_request")  # the count of ticket ids holding actions for a request not yet seen


class OpenTickets(Collector):
    def __init__(self) -> None:
        self._by_partition: dict[int, Counter[tuple[str, str]]] = {}

    def assign(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._by_partition.setdefault(partition, Counter())

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._by_partition.pop(partition, None)

    def clear(self) -> None:
        self._by_partition.clear()

    @staticmethod
    def key(state: TicketState | None) -> tuple[str, str] | None:
        """The (department, priority) a ticket is counted under, `AWAITING` for actions held for a
        request that has not arrived, or None when it is not open."""
        if state is not None and state.status == "awaiting_request":
            return AWAITING
        if state is None or not state.is_open:
            return None
        return (state.department or "unknown", state.urgency or "unknown")

    def awaiting(self) -> int:
        """Ticket ids that hold actions for a request not (yet) seen, in the partitions owned."""
        return sum(counts.get(AWAITING, 0) for counts in self._by_partition.values())

    def update(self, partition: int, before: tuple[str, str] | None, after: tuple[str, str] | None) -> None:
        """Move one ticket from the `before` count to the `after` count (see `key`)."""
        counts = self._by_partition.get(partition)
        if counts is None:
            return
        if before == after:
            return
        if before is not None:
            counts[before] -= 1
            if counts[before] <= 0:
                del counts[before]
        if after is not None:
            counts[after] += 1

    def totals(self) -> Counter[tuple[str, str]]:
        """Open tickets by (department, priority); the ids awaiting their request are not tickets."""
        total: Counter[tuple[str, str]] = Counter()
        for counts in self._by_partition.values():
            total.update(counts)
        total.pop(AWAITING, None)
        return total

    def total(self) -> int:
        return sum(self.totals().values())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "ticketflow_open_tickets",
            "Open tickets (open or pending) in the partitions this worker owns.",
            labels=["department", "priority"],
        )
        for (department, priority), count in sorted(self.totals().items()):
            gauge.add_metric([department, priority], count)
        yield gauge
