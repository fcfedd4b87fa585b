"""SLA clock arithmetic (DESIGN §3), on plain floats (seconds since the epoch, UTC).

A `Clock` measures one metric (first_response or resolution) for one cycle of one ticket.
It starts at the customer's submit time, can be paused (waiting on the customer) and
resumed — a pause pushes every point out and never loses time already spent — and is
stopped by the action that fulfils it. Its *points* are the warning fractions of the
target and the breach at the due moment; each point fires exactly once per cycle, and
`fired` records which did so that a replayed or restarted clock never repeats one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

# An event is "late" when it is emitted this long after the moment it is about
# (e.g. a breach that fell due while the worker was down).
LATE_AFTER_SECONDS = 2.0

BREACH = "breached"
WARNING = "warning"


@dataclass(frozen=True)
class SlaEvent:
    kind: str  # activated | paused | resumed | warning | breached | fulfilled
    metric: str
    cycle: int
    level: int  # warning: percent of the target; paused/resumed: pause number; else 0
    due_at: float | None
    at: float  # the moment the event is about
    emitted_at: float
    within_target: bool | None = None
    elapsed: float | None = None  # fulfilled: seconds the metric took, pauses excluded

    @property
    def late(self) -> bool:
        return self.kind in (WARNING, BREACH) and self.emitted_at - self.at > LATE_AFTER_SECONDS


class Clock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    cycle: int = 1
    started_at: float
    target: float
    warn_at: tuple[float, ...] = ()
    paused_at: float | None = None
    paused_total: float = 0.0
    pauses: int = 0
    stopped_at: float | None = None
    fired: list[str] = []

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None

    @property
    def due_at(self) -> float:
        """The breach moment, pushed out by every completed pause."""
        return self.started_at + self.paused_total + self.target

    def elapsed(self, now: float) -> float:
        """Seconds counted against the target so far (pauses excluded)."""
        end = self.stopped_at if self.stopped_at is not None else (self.paused_at if self.paused_at is not None else now)
        return max(0.0, end - self.started_at - self.paused_total)

    def points(self) -> list[tuple[float, str, int]]:
        """(moment, kind, level) for every warning and the breach, in time order."""
        base = self.started_at + self.paused_total
        marks = [(base + self.target * fraction, WARNING, round(fraction * 100)) for fraction in self.warn_at]
        marks.append((self.due_at, BREACH, 0))
        return marks

    def next_point(self) -> float | None:
        if not self.running:
            return None
        for moment, kind, level in self.points():
            if _point_key(kind, level) not in self.fired:
                return moment
        return None


def _point_key(kind: str, level: int) -> str:
    return kind if kind == BREACH else f"{kind}:{level}"


def start_clock(
    metric: str, *, cycle: int, started_at: float, target: float, warn_at: tuple[float, ...], now: float
) -> tuple[Clock, SlaEvent]:
    clock = Clock(metric=metric, cycle=cycle, started_at=started_at, target=target, warn_at=warn_at)
    return clock, SlaEvent("activated", metric, cycle, 0, clock.due_at, started_at, now)


def fire_points(clock: Clock, *, upto: float, now: float) -> list[SlaEvent]:
    """Fire every point at or before `upto` that has not fired in this cycle."""
    if not clock.running:
        return []
    events = []
    for moment, kind, level in clock.points():
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


def resume(clock: Clock, *, at: float, now: float) -> list[SlaEvent]:
    if clock.stopped_at is not None or clock.paused_at is None:
        return []
    resumed_at = max(at, clock.paused_at)
    clock.paused_total += resumed_at - clock.paused_at
    clock.paused_at = None
    return [SlaEvent("resumed", clock.metric, clock.cycle, clock.pauses, clock.due_at, resumed_at, now)]


def stop(clock: Clock, *, at: float, now: float) -> list[SlaEvent]:
    """Stop the clock at `at`: points that passed before it still fire, then `fulfilled`."""
    if clock.stopped_at is not None:
        return []
    events = []
    if clock.paused_at is not None:
        # Stopped while paused: the pause ends where the clock stops.
        at = max(at, clock.paused_at)
        clock.paused_total += at - clock.paused_at
        clock.paused_at = None
    else:
        events.extend(fire_points(clock, upto=at, now=now))
    stopped_at = max(at, clock.started_at)
    clock.stopped_at = stopped_at
    elapsed = clock.elapsed(now)
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
            elapsed=elapsed,
        )
    )
    return events
