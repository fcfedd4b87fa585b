"""What each owned partition holds open, by department and priority: open tickets, those
waiting on the customer, at risk (a warning fired), overdue (a breach fired on a clock still
running), the oldest waiting and the tickets overdue longest (docs/board.md).

Kept in step with every ticket change (`update`) and rebuilt with the deadline index after a
rebalance, so a board request reads small per-group figures instead of the tickets table.
Only ticket ids, departments and priorities are kept: never contact data.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.domain.tickets import TicketState

ON_TRACK, AT_RISK, OVERDUE = "on_track", "at_risk", "overdue"
COUNTS = ("open", "waiting_on_customer", "at_risk", "overdue")
Group = tuple[str, str]  # (department, priority)


@dataclass(frozen=True, slots=True)
class FloorEntry:
    """An open ticket as the board sees it."""

    department: str
    priority: str
    waiting_on_customer: bool  # status "pending": its clocks are paused
    level: str  # ON_TRACK, AT_RISK or OVERDUE
    since: float  # when its current cycle began (the submit time, or the reopening)
    overdue_since: float | None = None  # the earliest due moment among its breached running clocks

    @property
    def group(self) -> Group:
        return (self.department, self.priority)


def entry_of(state: TicketState | None) -> FloorEntry | None:
    """The board's view of a ticket; None unless it is open (open or pending)."""
    if state is None or not state.is_open:
        return None
    live = [clock for clock in state.clocks.values() if clock.stopped_at is None]
    breached = [clock.due_at for clock in live if "breached" in clock.fired]
    warned = any(point.startswith("warning") for clock in live for point in clock.fired)
    level = OVERDUE if breached else AT_RISK if warned else ON_TRACK
    resolution = state.clocks.get("resolution")
    since = resolution.started_at if resolution is not None else (state.submitted_at or state.updated_at or 0.0)
    return FloorEntry(
        department=state.department or "unknown",
        priority=state.urgency or "unknown",
        waiting_on_customer=state.status == "pending",
        level=level,
        since=since,
        overdue_since=min(breached) if breached else None,
    )


@dataclass
class _Partition:
    entries: dict[str, FloorEntry] = field(default_factory=dict)
    counts: dict[Group, dict[str, int]] = field(default_factory=dict)
    # Per group, a lazy min-heap of (since, ticket id) of tickets waiting on the floor: an entry
    # that no longer matches the ticket's current one is skipped (and compacted away).
    waiting: dict[Group, list[tuple[float, str]]] = field(default_factory=dict)
    overdue: dict[str, float] = field(default_factory=dict)

    def count(self, entry: FloorEntry, step: int) -> None:
        counts = self.counts.setdefault(entry.group, dict.fromkeys(COUNTS, 0))
        counts["open"] += step
        if entry.waiting_on_customer:
            counts["waiting_on_customer"] += step
        if entry.level != ON_TRACK:
            counts[entry.level] += step
        if counts["open"] <= 0:
            del self.counts[entry.group]
            self.waiting.pop(entry.group, None)

    def is_current(self, group: Group, since: float, ticket_id: str) -> bool:
        entry = self.entries.get(ticket_id)
        return entry is not None and not entry.waiting_on_customer and entry.group == group and entry.since == since

    def oldest(self, group: Group) -> tuple[float, str] | None:
        heap = self.waiting.get(group)
        while heap and not self.is_current(group, *heap[0]):
            heapq.heappop(heap)
        return heap[0] if heap else None

    def push_waiting(self, entry: FloorEntry, ticket_id: str) -> None:
        heap = self.waiting.setdefault(entry.group, [])
        heapq.heappush(heap, (entry.since, ticket_id))
        if len(heap) > 2 * self.counts[entry.group]["open"] + 32:
            kept = {item for item in heap if self.is_current(entry.group, *item)}
            heap[:] = list(kept)
            heapq.heapify(heap)


class FloorTracker:
    """Board figures per owned partition (see the module docstring)."""

    def __init__(self) -> None:
        self._partitions: dict[int, _Partition] = {}

    def partitions(self) -> list[int]:
        return sorted(self._partitions)

    def assign(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._partitions.setdefault(partition, _Partition())

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._partitions.pop(partition, None)

    def clear(self) -> None:
        self._partitions.clear()

    def update(self, partition: int, ticket_id: str, state: TicketState | None) -> None:
        """Record a ticket's new state (None: it left the table)."""
        part = self._partitions.get(partition)
        if part is None:
            return  # not ours (any more)
        after = entry_of(state)
        before = part.entries.get(ticket_id)
        if before == after:
            return
        if before is not None:
            part.count(before, -1)
            del part.entries[ticket_id]
            part.overdue.pop(ticket_id, None)
        if after is None:
            return
        part.entries[ticket_id] = after
        part.count(after, +1)
        if after.overdue_since is not None:
            part.overdue[ticket_id] = after.overdue_since
        if not after.waiting_on_customer and (
            before is None or before.waiting_on_customer or before.group != after.group or before.since != after.since
        ):
            part.push_waiting(after, ticket_id)

    def part(self, partition: int, overdue_limit: int = 20) -> dict | None:
        """One partition's figures, JSON-ready (None when not owned): per group the counts and
        the oldest ticket waiting on the floor; the `overdue_limit` tickets overdue longest."""
        part = self._partitions.get(partition)
        if part is None:
            return None
        groups = []
        for (department, priority), counts in sorted(part.counts.items()):
            oldest = part.oldest((department, priority))
            waiting = None if oldest is None else {"ticket_id": oldest[1], "since": oldest[0]}
            groups.append({"department": department, "priority": priority, **counts, "oldest_waiting": waiting})
        longest = heapq.nsmallest(overdue_limit, part.overdue.items(), key=lambda item: (item[1], item[0]))
        overdue = []
        for ticket_id, since in longest:
            entry = part.entries[ticket_id]
            overdue.append(
                {
                    "ticket_id": ticket_id,
                    "department": entry.department,
                    "priority": entry.priority,
                    "overdue_since": since,
                }
            )
        return {"groups": groups, "overdue_tickets": overdue}
