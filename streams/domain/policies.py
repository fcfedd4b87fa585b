"""SLA policies: which targets, calendar, warnings and escalation ladder apply to a ticket.

Loaded from an operator-edited YAML file (`TICKETFLOW_POLICY_FILE`; default
streams/config/policies.yaml, which encodes the seeds). Policies are tried in order and the
first whose `match` fits the ticket wins; the last must match everything, so every ticket has
a clock. Every policy has a resolution target.

Metrics:
- first_response: from submission to the first human response;
- next_response: from each customer message after an agent's reply to the next human reply;
- progress_update: the longest a ticket may go without a progress update while unresolved;
- resolution: from (re)opening to resolution, paused while waiting on the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.calendars import (
    ALWAYS_OPEN,
    BusinessCalendar,
    Calendar,
    CalendarSpec,
)
from streams.domain.durations import Duration, parse_duration
from streams.domain.matching import Filter

METRICS: tuple[str, ...] = ("first_response", "next_response", "progress_update", "resolution")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _warn_points(value: Any) -> Any:
    if value is None:
        return value
    points = tuple(value)
    for point in points:
        if not 0 < float(point) < 1:
            raise ValueError(f"warning point {point} must be a fraction between 0 and 1 (e.g. 0.75)")
    if len(set(points)) != len(points):
        raise ValueError(f"warning points {list(points)} repeat a value")
    return tuple(sorted(float(point) for point in points))


class Targets(_Strict):
    first_response: Duration | None = None
    next_response: Duration | None = None
    progress_update: Duration | None = None
    resolution: Duration

    @field_validator("first_response", "next_response", "progress_update", "resolution", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    def items(self) -> list[tuple[str, Duration]]:
        return [(metric, duration) for metric in METRICS if (duration := getattr(self, metric)) is not None]


class EscalationLevel(_Strict):
    level: int = Field(ge=1, le=9)
    after_breach: Duration
    notify: tuple[str, ...] = Field(min_length=1)

    @field_validator("after_breach", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> Any:
        if value in (0, "0", "0m", "0s", "0h"):
            return Duration(seconds=0.0)
        return parse_duration(value)


def _ladder(value: Any) -> Any:
    if value is None:
        return value
    levels = [EscalationLevel.model_validate(item) if not isinstance(item, EscalationLevel) else item for item in value]
    numbers = [level.level for level in levels]
    if numbers != sorted(set(numbers)):
        raise ValueError(f"escalation levels must be distinct and in increasing order, got {numbers}")
    delays = [level.after_breach.seconds + level.after_breach.working_days * 86400 for level in levels]
    if delays != sorted(delays):
        raise ValueError("escalation levels must come no earlier than the level before them")
    return tuple(levels)


class Policy(_Strict):
    name: str = Field(min_length=1, max_length=64)
    match: Filter = Field(default_factory=Filter)
    targets: Targets
    calendar: str | None = None
    warn_at: tuple[float, ...] | None = None
    escalation: tuple[EscalationLevel, ...] | None = None
    escalate_metrics: tuple[str, ...] | None = None

    @field_validator("warn_at", mode="before")
    @classmethod
    def _warn(cls, value: Any) -> Any:
        return _warn_points(value)

    @field_validator("escalation", mode="before")
    @classmethod
    def _escalation(cls, value: Any) -> Any:
        return _ladder(value)

    @field_validator("escalate_metrics")
    @classmethod
    def _metrics(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = [metric for metric in value or () if metric not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; use {list(METRICS)}")
        return value


class PolicyFile(_Strict):
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    warn_at: tuple[float, ...] = (0.75, 0.9)
    escalation: tuple[EscalationLevel, ...] = ()
    # A customer writing again on a resolved ticket reopens it (new resolution cycle, and the
    # next-response clock runs), as in the common help desks; false leaves it resolved.
    reopen_on_customer_reply: bool = True
    policies: list[Policy] = Field(min_length=1)

    @field_validator("warn_at", mode="before")
    @classmethod
    def _warn(cls, value: Any) -> Any:
        return _warn_points(value)

    @field_validator("escalation", mode="before")
    @classmethod
    def _escalation(cls, value: Any) -> Any:
        return _ladder(value) or ()

    @model_validator(mode="after")
    def _consistent(self) -> PolicyFile:
        names = [policy.name for policy in self.policies]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"policy names must be unique; repeated: {duplicates}")
        if self.policies[-1].match != Filter():
            raise ValueError(
                f"the last policy ({self.policies[-1].name!r}) must match every ticket (match: {{}}), "
                "so that no ticket is left without a clock"
            )
        for policy in self.policies:
            if policy.calendar is not None and policy.calendar not in self.calendars:
                raise ValueError(
                    f"policy {policy.name!r} names calendar {policy.calendar!r}, which is not under calendars "
                    f"({sorted(self.calendars)})"
                )
            if policy.calendar is None:
                needing = [metric for metric, duration in policy.targets.items() if duration.needs_calendar]
                if needing:
                    raise ValueError(
                        f"policy {policy.name!r}: working-day targets ({', '.join(needing)}) need a calendar"
                    )
        return self

    @cached_property
    def _calendars(self) -> dict[str, BusinessCalendar]:
        return {name: BusinessCalendar(name, spec) for name, spec in self.calendars.items()}

    def select(self, fields: Mapping[str, Any]) -> Policy:
        for policy in self.policies:
            if policy.match.matches(fields):
                return policy
        return self.policies[-1]

    def by_name(self, name: str | None) -> Policy | None:
        for policy in self.policies:
            if policy.name == name:
                return policy
        return None

    def calendar(self, policy: Policy | None) -> Calendar:
        if policy is None or policy.calendar is None:
            return ALWAYS_OPEN
        return self._calendars[policy.calendar]

    def warn_points(self, policy: Policy) -> tuple[float, ...]:
        return policy.warn_at if policy.warn_at is not None else self.warn_at

    def ladder(self, policy: Policy, metric: str) -> tuple[EscalationLevel, ...]:
        if policy.escalate_metrics is not None and metric not in policy.escalate_metrics:
            return ()
        return policy.escalation if policy.escalation is not None else self.escalation

    def target(self, policy: Policy, metric: str) -> float | None:
        """Seconds of (business) time allowed for the metric, or None when the policy has no such target."""
        duration = getattr(policy.targets, metric)
        if duration is None:
            return None
        return duration.resolve(self.calendar(policy).day_seconds)

    def notify(self, policy_name: str | None, metric: str, level: int) -> tuple[str, ...]:
        policy = self.by_name(policy_name)
        if policy is None:
            return ()
        for step in self.ladder(policy, metric):
            if step.level == level:
                return step.notify
        return ()
