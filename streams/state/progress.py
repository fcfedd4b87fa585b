"""How far the lifecycle has read its inputs, per partition: the SLA timer's event-time guard.

A warning or breach may only fire once every action that could have stopped the clock before
that moment has been applied. While a partition's inputs (requests.classified,
tickets.actions) are being caught up on — after a restart, a rebalance, or any consumer lag —
the timer therefore fires only points due up to the timestamp of the last record read
(records of one partition are read in order); once the inputs are caught up it fires up to
now. Right after a recovery nothing fires for a short grace period, so the first fetch can
show whether there is a backlog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# After a recovery, wait this long for the first records before trusting "no backlog".
STARTUP_GRACE_SECONDS = 2.0
# Without a known end offset, a topic read nothing for this long is taken as caught up.
IDLE_SECONDS = 1.0


@dataclass
class _Seen:
    offset: int
    record_time: float
    read_at: float


class InputProgress:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], _Seen] = {}
        self._recovered_at: float | None = None

    def recovered(self, now: float) -> None:
        self._seen.clear()
        self._recovered_at = now

    def record(self, topic: str, partition: int, offset: int, record_time: float, now: float) -> None:
        self._seen[(topic, partition)] = _Seen(offset, record_time, now)

    def watermark(
        self, partition: int, topics: Iterable[str], now: float, end_offset: Callable[[str, int], int | None]
    ) -> float:
        """Points due at or before the returned moment are safe to fire."""
        if self._recovered_at is None or now - self._recovered_at < STARTUP_GRACE_SECONDS:
            return float("-inf")
        limit = now
        for topic in topics:
            seen = self._seen.get((topic, partition))
            if seen is None:
                continue  # nothing read since recovery: no backlog on this input
            end = end_offset(topic, partition)
            if end is not None and seen.offset + 1 >= end:
                continue  # caught up
            if end is None and now - seen.read_at >= IDLE_SECONDS:
                continue  # idle: nothing more to read
            limit = min(limit, seen.record_time)
        return limit
