"""The timer loop the SLA and follow-up timers share."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY

from streams.agents.timers import fire_at_due_moments


def _timer_errors() -> float:
    return REGISTRY.get_sample_value("ticketflow_stage_errors_total", {"stage": "timer"}) or 0.0


def test_a_failing_step_is_counted_and_the_timer_goes_on():
    calls = []

    def fire_due():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("one bad tick")

    async def main():
        task = asyncio.create_task(fire_at_due_moments("test timer", fire_due, lambda: None, tick=0.01))
        await asyncio.sleep(0.2)
        task.cancel()

    before = _timer_errors()
    asyncio.run(main())
    assert len(calls) >= 3 and _timer_errors() == before + 1


def test_the_timer_wakes_at_the_next_due_moment_before_its_tick():
    calls = []
    due = time.time() + 0.05

    async def main():
        task = asyncio.create_task(
            fire_at_due_moments("test timer", lambda: calls.append(time.time()), lambda: due, tick=10.0)
        )
        await asyncio.sleep(0.3)
        task.cancel()

    asyncio.run(main())
    assert len(calls) >= 2 and calls[1] >= due and calls[1] - due < 0.2
