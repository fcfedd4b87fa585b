"""Changelog writes wait for their step's events, in step order; a refused event stops them."""

from __future__ import annotations

import asyncio

import pytest

from streams.state.pending_writes import PendingWrites, UnacknowledgedEvents


def run(coroutine_function):
    return asyncio.run(coroutine_function())


def recording() -> tuple[PendingWrites, list[str]]:
    """Pending writes whose changelog writes are recorded (the keys, in order)."""
    written: list[str] = []
    return PendingWrites(lambda partition, key: written.append(key)), written


def test_a_step_without_events_is_written_at_once():
    async def main():
        pending, written = recording()
        pending.add([], [(0, "TKT-A")])
        return written

    assert run(main) == ["TKT-A"]


def test_a_state_is_written_only_once_its_events_are_acknowledged():
    async def main():
        loop = asyncio.get_running_loop()
        pending, written = recording()
        event = loop.create_future()
        pending.add([event], [(0, "TKT-A")])
        await asyncio.sleep(0)
        before = list(written)
        event.set_result("acked")
        await pending.drain()
        return before, written

    assert run(main) == ([], ["TKT-A"])


def test_a_later_step_waits_for_an_earlier_steps_events_even_when_its_own_are_acknowledged():
    async def main():
        loop = asyncio.get_running_loop()
        pending, written = recording()
        first, second = loop.create_future(), loop.create_future()
        pending.add([first], [(0, "TKT-A")])
        pending.add([second], [(0, "TKT-A")])  # the same ticket: its record carries the first step too
        pending.add([], [(1, "TKT-B")])
        second.set_result("acked")
        await asyncio.sleep(0.01)
        before = list(written)
        first.set_result("acked")
        await pending.drain()
        return before, written

    assert run(main) == ([], ["TKT-A", "TKT-A", "TKT-B"])


def test_a_refused_event_stops_every_later_write_and_drain_raises():
    async def main():
        loop = asyncio.get_running_loop()
        pending, written = recording()
        refused, acked = loop.create_future(), loop.create_future()
        pending.add([refused], [(0, "TKT-A")])
        pending.add([acked], [(0, "TKT-B")])
        refused.set_exception(ConnectionError("broker gone"))
        acked.set_result("acked")
        with pytest.raises(UnacknowledgedEvents):
            await pending.drain()
        pending.add([], [(0, "TKT-C")])
        return written

    assert run(main) == []


def test_sends_are_drained_once_acknowledged_and_a_refused_one_stops_the_commit():
    from streams.state.pending_writes import PendingSends

    async def main():
        loop = asyncio.get_running_loop()
        sends = PendingSends()
        first, second = loop.create_future(), loop.create_future()
        sends.add([first, second])
        drain = asyncio.ensure_future(sends.drain())
        await asyncio.sleep(0)
        waited = not drain.done()
        first.set_result("acked")
        second.set_result("acked")
        await drain
        refused = loop.create_future()
        sends.add([refused])
        refused.set_exception(RuntimeError("broker said no"))
        with pytest.raises(UnacknowledgedEvents):
            await sends.drain()
        return waited

    assert run(main) is True
