"""The assignment matrix (需求分配矩阵): which department owns a ticket and who is copied.

Loaded from an operator-edited YAML file (streams/config/routing.yaml by default). Rules are
tried in order; the first whose filter matches decides the owning department and the CC
list. Low-confidence classifications go to triage instead of a guessed department, and
account-managed tiers (VIP) go to their account manager with the owning department copied.
The owner never changes afterwards (首问负责制, first-contact ownership); copies do not own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.matching import Filter

_DEPARTMENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Strict):
    description: str = ""


class RouteRule(_Strict):
    name: str = Field(min_length=1)
    match: Filter = Field(default_factory=Filter)
    department: str
    cc: tuple[str, ...] = ()


class TriageRule(_Strict):
    department: str = "triage"
    below_confidence: float = Field(default=0.55, ge=0.0, le=1.0)


class AccountManagerRule(_Strict):
    tiers: tuple[str, ...] = ("vip",)
    department: str = "vip_manager"
    cc_owning_department: bool = True
    # Where the matrix's own decision must keep ownership (e.g. the grade-1 task force);
    # the account manager is then copied instead.
    keep_owner_when: Filter | None = None


class RoutingConfig(_Strict):
    departments: dict[str, Department]
    rules: list[RouteRule]
    default_department: str
    triage: TriageRule = Field(default_factory=TriageRule)
    account_managers: AccountManagerRule | None = None

    @field_validator("departments")
    @classmethod
    def _department_names(cls, value: dict[str, Department]) -> dict[str, Department]:
        for name in value:
            if not _DEPARTMENT_NAME.match(name):
                raise ValueError(
                    f"department name {name!r} must be lower-case letters, digits and '_' "
                    "(it becomes the topic dept.<name>)"
                )
        return value

    @model_validator(mode="after")
    def _referenced_departments_exist(self) -> RoutingConfig:
        known = set(self.departments)
        problems = []

        def check(where: str, name: str) -> None:
            if name not in known:
                problems.append(f"{where} names unknown department {name!r}")

        check("default_department", self.default_department)
        check("triage.department", self.triage.department)
        if self.account_managers:
            check("account_managers.department", self.account_managers.department)
        for index, rule in enumerate(self.rules):
            check(f"rules[{index}] ({rule.name})", rule.department)
            for copied in rule.cc:
                check(f"rules[{index}] ({rule.name}) cc", copied)
        if problems:
            raise ValueError("; ".join(problems) + f" (known: {sorted(known)})")
        return self


@dataclass(frozen=True)
class RoutingDecision:
    department: str
    cc: tuple[str, ...]
    rule: str
    reasons: list[str] = field(default_factory=list)


def route(config: RoutingConfig, fields: Mapping[str, Any], confidence: float) -> RoutingDecision:
    """Decide owner and copies from the ticket's fields (type, grade, urgency, channel, tier, aspects)."""
    reasons: list[str] = []
    if confidence < config.triage.below_confidence:
        department, cc, rule_name = config.triage.department, (), "triage"
        reasons.append(f"confidence {confidence:.2f} < {config.triage.below_confidence:.2f}: triage")
    else:
        for rule in config.rules:
            if rule.match.matches(fields):
                department, cc, rule_name = rule.department, rule.cc, rule.name
                reasons.append(f"rule {rule.name} → {rule.department}")
                break
        else:
            department, cc, rule_name = config.default_department, (), "default"
            reasons.append(f"no rule matched → default {department}")

    managers = config.account_managers
    if managers and fields.get("tier") in managers.tiers and department != managers.department:
        if managers.keep_owner_when is not None and managers.keep_owner_when.matches(fields):
            cc = (*cc, managers.department)
            reasons.append(f"tier {fields.get('tier')}: {managers.department} copied, {department} keeps ownership")
        else:
            copied = (department, *cc) if managers.cc_owning_department else cc
            reasons.append(f"tier {fields.get('tier')}: owned by {managers.department}, {department} copied")
            department, cc = managers.department, copied
            rule_name = f"{rule_name}+account_manager"
    # A department is never copied on its own ticket, and never twice.
    unique_cc = tuple(dict.fromkeys(name for name in cc if name != department))
    return RoutingDecision(department=department, cc=unique_cc, rule=rule_name, reasons=reasons)
