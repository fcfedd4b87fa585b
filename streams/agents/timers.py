"""The loop of a timer that fires what is due in the partitions a worker owns (docs/sla.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from streams import metrics

log = logging.getLogger(__name__)


async def fire_at_due_moments(
    name: str, fire_due: Callable[[], None], next_due: Callable[[], float | None], tick: float
) -> None:
    """Run `fire_due`, then sleep until the next due moment, or `tick` seconds at the latest (to
    see moments scheduled meanwhile). A failing step is logged and counted, never fatal."""
    while True:
        try:
            fire_due()
        except Exception:  # noqa: BLE001 - the timer must outlive any one bad tick
            log.exception("%s: tick failed", name)
            metrics.STAGE_ERRORS.labels("timer").inc()
        due = next_due()
        delay = tick if due is None else min(tick, due - time.time())
        await asyncio.sleep(max(0.0, delay))
