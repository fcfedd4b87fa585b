"""SLA policies: which targets apply to a ticket. First matching policy wins.

Loaded from an operator-edited YAML file (`TICKETFLOW_POLICY_FILE`; default
streams/config/policies.yaml, which encodes the seeds' targets). The last policy must match
everything, so every ticket has a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.durations import parse_duration
from streams.domain.matching import Filter

METRICS: tuple[str, ...] = ("first_response", "resolution")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """Seconds allowed per metric; written as durations ("1h", "30m")."""

    first_response: float | None = None
    resolution: float | None = None

    @field_validator("first_response", "resolution", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _at_least_one(self) -> "Targets":
        if self.first_response is None and self.resolution is None:
            raise ValueError("a policy needs at least one target (first_response or resolution)")
        return self


class Policy(_Strict):
    name: str = Field(min_length=1, max_length=64)
    match: Filter = Field(default_factory=Filter)
    targets: Targets
    warn_at: tuple[float, ...] | None = None

    @field_validator("warn_at", mode="before")
    @classmethod
    def _warn(cls, value: Any) -> Any:
        return _warn_points(value)


class PolicyFile(_Strict):
    warn_at: tuple[float, ...] = (0.75, 0.9)
    policies: list[Policy] = Field(min_length=1)

    @field_validator("warn_at", mode="before")
    @classmethod
    def _warn(cls, value: Any) -> Any:
        return _warn_points(value)

    @model_validator(mode="after")
    def _names_unique_and_catch_all_last(self) -> "PolicyFile":
        names = [policy.name for policy in self.policies]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"policy names must be unique; repeated: {duplicates}")
        if self.policies[-1].match != Filter():
            raise ValueError(
                f"the last policy ({self.policies[-1].name!r}) must match every ticket (match: {{}}), "
                "so that no ticket is left without a clock"
            )
        return self

    def select(self, facts: Mapping[str, Any]) -> Policy:
        for policy in self.policies:
            if policy.match.matches(facts):
                return policy
        return self.policies[-1]

    def warn_points(self, policy: Policy) -> tuple[float, ...]:
        return policy.warn_at if policy.warn_at is not None else self.warn_at

    def by_name(self, name: str) -> Policy | None:
        for policy in self.policies:
            if policy.name == name:
                return policy
        return None
