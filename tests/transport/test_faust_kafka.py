"""The consumer commits offsets only after the changelog writes pending then."""

from __future__ import annotations

import asyncio

from streams.state.pending_writes import PendingWrites
from streams.transport.faust_kafka import commit_after_pending_writes


def run(coroutine_function):
    return asyncio.run(coroutine_function())


def test_offsets_are_committed_after_the_pending_writes():
    async def main():
        loop = asyncio.get_running_loop()
        order = []
        pending = PendingWrites(lambda partition, key: order.append(f"write {key}"))
        event = loop.create_future()
        pending.add([event], [(0, "TKT-A")])
        loop.call_later(0.01, event.set_result, "acked")

        async def commit():
            order.append("commit")
            return True

        async def crash(exc):
            order.append("crash")

        committed = await commit_after_pending_writes([pending], commit, crash)
        return committed, order

    assert run(main) == (True, ["write TKT-A", "commit"])


def test_a_refused_event_crashes_the_consumer_instead_of_committing():
    async def main():
        loop = asyncio.get_running_loop()
        order = []
        pending = PendingWrites(lambda partition, key: order.append("write"))
        event = loop.create_future()
        pending.add([event], [(0, "TKT-A")])
        event.set_exception(ConnectionError("broker gone"))

        async def commit():
            order.append("commit")
            return True

        async def crash(exc):
            order.append(type(exc).__name__)

        committed = await commit_after_pending_writes([pending], commit, crash)
        return committed, order

    assert run(main) == (False, ["UnacknowledgedEvents"])
