"""SLA clock arithmetic (docs/sla.md), on plain floats (seconds since the epoch, UTC).

A `Clock` measures one metric for one cycle of one ticket, in the business time of its
policy's calendar (24/7 without one). It starts at the moment given (the customer's submit
time for first response and resolution), can be paused while the ticket waits on the
customer — the pause pushes every point out and never loses time already spent — and is
stopped by the action that fulfils it.

Its *points* are the warning fractions of the target, the breach at the due moment and the
escalation levels after the breach. They are computed when the clock starts or resumes and
stored with it, so the SLA timer fires them without a calendar at hand. Each point fires at
most once per cycle; `fired` records which did, so a restarted or rebalanced worker never
repeats one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams.domain.calendars import Calendar

# An event is "late" when it is emitted this long after the moment it is about
# (e.g. a breach that fell due while the worker was down).
LATE_AFTER_SECONDS = 2.0

# What an SLA event says happened to a clock; `sla.<kind>` on sla.events (docs/topics.md).
SlaEventKind = Literal["activated", "paused", "resumed", "warning", "breached", "escalated", "fulfilled"]
WARNING, BREACH, ESCALATION = "warning", "breached", "escalated"


@dataclass(frozen=True)
class SlaEvent:
    kind: SlaEventKind
    metric: str
    cycle: int
    level: int  # warning: percent of the target; escalated: ladder level; paused/resumed: pause number
    due_at: float | None
    at: float  # the moment the event is about
    emitted_at: float
    within_target: bool | None = None
    elapsed: float | None = None  # fulfilled: business seconds the metric took, pauses excluded
    repair: int | None = None  # activated by a policy repair (its sequence number)

    @property
    def late(self) -> bool:
        return self.kind in (WARNING, BREACH, ESCALATION) and self.emitted_at - self.at > LATE_AFTER_SECONDS


class Clock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    cycle: int = 1
    started_at: float
    target: float  # business seconds
    due_at: float = 0.0
    warn_at: tuple[float, ...] = ()
    ladder: tuple[tuple[int, float], ...] = ()
    paused_at: float | None = None
    paused_total: float = 0.0  # business seconds spent paused
    pauses: int = 0
    stopped_at: float | None = None
    points: list[tuple[float, str, int]] = []
    fired: list[str] = []

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None

    def next_point(self) -> float | None:
        if not self.running:
            return None
        for moment, kind, level in self.points:
            if _point_key(kind, level) not in self.fired:
                return moment
        return None

    def elapsed(self, calendar: Calendar, now: float) -> float:
        """Business seconds counted against the target so far (pauses excluded)."""
        end = (
            self.stopped_at if self.stopped_at is not None else (self.paused_at if self.paused_at is not None else now)
        )
        return max(0.0, calendar.between(self.started_at, end) - self.paused_total)


def _point_key(kind: str, level: int) -> str:
    return kind if kind == BREACH else f"{kind}:{level}"


def _schedule(clock: Clock, calendar: Calendar) -> None:
    """(Re)compute the due moment and every point from the start, the target and the pauses."""
    base = clock.paused_total
    clock.due_at = calendar.add(clock.started_at, base + clock.target)
    points = [
        (calendar.add(clock.started_at, base + clock.target * fraction), WARNING, round(fraction * 100))
        for fraction in clock.warn_at
    ]
    points.append((clock.due_at, BREACH, 0))
    points.extend((calendar.add(clock.due_at, delay), ESCALATION, level) for level, delay in clock.ladder)
    points.sort(key=lambda point: point[0])
    clock.points = points


def start_clock(
    metric: str,
    *,
    cycle: int,
    started_at: float,
    target: float,
    calendar: Calendar,
    now: float,
    warn_at: Sequence[float] = (),
    ladder: Sequence[tuple[int, float]] = (),
) -> tuple[Clock, SlaEvent]:
    clock = Clock(
        metric=metric, cycle=cycle, started_at=started_at, target=target, warn_at=tuple(warn_at), ladder=tuple(ladder)
    )
    _schedule(clock, calendar)
    return clock, SlaEvent("activated", metric, cycle, 0, clock.due_at, started_at, now)


def fire_points(clock: Clock, *, upto: float, now: float) -> list[SlaEvent]:
    """Fire every point at or before `upto` that has not fired in this cycle."""
    if not clock.running:
        return []
    events = []
    for moment, kind, level in clock.points:
        if moment > upto:
            break
        key = _point_key(kind, level)
        if key in clock.fired:
            continue
        clock.fired.append(key)
        events.append(SlaEvent(kind, clock.metric, clock.cycle, level, clock.due_at, moment, now))
    return events


def pause(clock: Clock, *, at: float, now: float) -> list[SlaEvent]:
    if not clock.running:
        return []
    events = fire_points(clock, upto=at, now=now)
    clock.paused_at = max(at, clock.started_at)
    clock.pauses += 1
    events.append(SlaEvent("paused", clock.metric, clock.cycle, clock.pauses, None, clock.paused_at, now))
    return events


def resume(clock: Clock, *, at: float, calendar: Calendar, now: float) -> list[SlaEvent]:
    if clock.stopped_at is not None or clock.paused_at is None:
        return []
    resumed_at = max(at, clock.paused_at)
    clock.paused_total += calendar.between(clock.paused_at, resumed_at)
    clock.paused_at = None
    _schedule(clock, calendar)
    return [SlaEvent("resumed", clock.metric, clock.cycle, clock.pauses, clock.due_at, resumed_at, now)]


def stop(clock: Clock, *, at: float, calendar: Calendar, now: float) -> list[SlaEvent]:
    """Stop the clock at `at`: points that passed before it still fire, then `fulfilled`."""
    if clock.stopped_at is not None:
        return []
    events = []
    if clock.paused_at is not None:
        # Stopped while paused: the pause ends where the clock stops.
        at = max(at, clock.paused_at)
        clock.paused_total += calendar.between(clock.paused_at, at)
        clock.paused_at = None
        _schedule(clock, calendar)
    else:
        events.extend(fire_points(clock, upto=at, now=now))
    stopped_at = max(at, clock.started_at)
    clock.stopped_at = stopped_at
    events.append(
        SlaEvent(
            "fulfilled",
            clock.metric,
            clock.cycle,
            0,
            clock.due_at,
            stopped_at,
            now,
            within_target=stopped_at <= clock.due_at,
            elapsed=clock.elapsed(calendar, now),
        )
    )
    return events
