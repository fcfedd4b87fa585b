"""Changelog writes that wait for the events of the same step: persist after acknowledgement.

A lifecycle step (a request opening a ticket, an action moving its clocks) produces events
(`dept.*`, `sla.events`, …) and a new ticket state. The state is kept in memory at once, so the
next record sees it, but its changelog record is sent only once the broker has acknowledged the
step's events; the consumer commits an offset only after every write pending at that moment is
done (`drain`, called from the transport's commit). So a crash can leave:

- the events unsent and the state unwritten: the record is read again and done again;
- the events sent and the state unwritten: the record is read again and its events are sent
  again, with the same ids (a repeat downstream consumers recognise);

and never the state written with its events lost (the record would then be read again, found
to be a repeat of what the table holds, and its events never sent). Writes happen in the order
of their steps: a step's write also waits for every earlier step's, because a ticket's changelog
record carries its whole current state, earlier steps' effects included.

An event the broker refuses leaves the table behind the worker's memory for good: `drain`
raises from then on, and the worker stops instead of committing past it (it is restarted and
reads the records again). Pure asyncio: no faust here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


class UnacknowledgedEvents(RuntimeError):
    """An event of a step was not acknowledged: its state must not be committed past."""


class PendingWrites:
    def __init__(self, write: Callable[[int, str], None]) -> None:
        self._write = write  # (partition, key) → send the key's current value to the changelog
        self._tasks: set[asyncio.Task] = set()
        self._last: asyncio.Task | None = None  # the latest step's write: the next one waits for it
        self._failure: BaseException | None = None

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, events: Iterable[asyncio.Future], written: list[tuple[int, str]]) -> None:
        """Write `written` once every one of `events`, and every earlier step's write, is done
        (at once when there is nothing to wait for)."""
        if not written or self._failure is not None:  # after a refusal nothing more is recorded
            return
        events = list(events)
        previous = self._last if self._last is not None and not self._last.done() else None
        if not events and previous is None:
            self._write_all(written)
            return
        task = asyncio.ensure_future(self._write_when_sent(events, previous, written))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._last = task

    async def drain(self) -> None:
        """Wait for the writes pending now; raise UnacknowledgedEvents if an event of any step
        so far was refused."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._failure is not None:
            raise UnacknowledgedEvents(f"an event was not acknowledged: {self._failure!r}") from self._failure

    async def _write_when_sent(
        self, events: list[asyncio.Future], previous: asyncio.Task | None, written: list[tuple[int, str]]
    ) -> None:
        results = await asyncio.gather(*events, return_exceptions=True)
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        failure = next((result for result in results if isinstance(result, BaseException)), None)
        if failure is not None and self._failure is None:
            log.error(
                "events not acknowledged (%r): their tickets' states are not recorded, and offsets "
                "are not committed past them",
                failure,
            )
            self._failure = failure
        if self._failure is None:  # after a refusal nothing more is recorded: memory is ahead of it
            self._write_all(written)

    def _write_all(self, written: list[tuple[int, str]]) -> None:
        for partition, key in written:
            self._write(partition, key)


class PendingSends:
    """Sends of the stages that keep no table state (normalize, classify): the next offset
    commit waits until every one sent so far is acknowledged, and a refused one stops the
    worker instead of being committed past (the records are read again after the restart, and
    their outputs sent again with the same keys). The same `drain` as `PendingWrites`."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Future] = set()
        self._failure: BaseException | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, sends: Iterable[asyncio.Future]) -> None:
        for send in sends:
            if send.done():
                self._settled(send)
            else:
                self._waiting.add(send)
                send.add_done_callback(self._settled)

    def _settled(self, send: asyncio.Future) -> None:
        self._waiting.discard(send)
        failure = send.exception() if not send.cancelled() else asyncio.CancelledError("send cancelled")
        if failure is not None and self._failure is None:
            log.error("a stage output was not acknowledged (%r): offsets are not committed past it", failure)
            self._failure = failure

    async def drain(self) -> None:
        if self._waiting:
            await asyncio.gather(*list(self._waiting), return_exceptions=True)
        if self._failure is not None:
            raise UnacknowledgedEvents(f"an output was not acknowledged: {self._failure!r}") from self._failure
