"""The hotline's answer times: CTI call events counted, and how long callers waited for an answer
against the answer target (docs/channels.md)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from prometheus_client import Counter, Histogram

from streams.adapters import cti

CALL_EVENTS = Counter("ticketflow_call_events", "Hotline call events received, by event.", ["event"])
CALLS_ANSWERED = Counter(
    "ticketflow_calls_answered",
    "Answered hotline calls, by whether the caller waited no longer than the answer target (10 minutes by default).",
    ["within_target"],
)
CALL_ANSWER_SECONDS = Histogram(
    "ticketflow_call_answer_seconds",
    "How long hotline callers waited from the call being offered to an agent answering.",
    buckets=(5, 10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600),
)
CALLS_ABANDONED = Counter(
    "ticketflow_calls_abandoned",
    "Hotline calls the caller hung up on before an answer, by whether a callback was requested.",
    ["callback_requested"],
)


class CallTracker:
    """When each recent call was offered (bounded), for answered events that do not carry it."""

    def __init__(self, max_calls: int = 100_000) -> None:
        self.max_calls = max_calls
        self._offered: OrderedDict[str, datetime] = OrderedDict()

    def observe(self, event: cti.CallEvent, target_seconds: float) -> None:
        CALL_EVENTS.labels(event.event).inc()
        if event.event == "offered":
            self._offered[event.call_id] = event.at
            while len(self._offered) > self.max_calls:
                self._offered.popitem(last=False)
        elif event.event == "answered":
            wait = cti.answer_wait(event, self._offered.pop(event.call_id, None))
            if wait is not None:
                CALL_ANSWER_SECONDS.observe(wait.seconds)
                CALLS_ANSWERED.labels(str(wait.seconds <= target_seconds).lower()).inc()
        elif event.event == "abandoned":
            self._offered.pop(event.call_id, None)
            CALLS_ABANDONED.labels(str(event.callback_requested).lower()).inc()
