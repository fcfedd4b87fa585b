"""KPI targets for the review, from a YAML file (default streams/config/kpis.yaml, seed 000).

A file lists targets; each names a KPI the report computes, a bound (`at_least`, `at_most`,
`below`, `above`) and, optionally, a channel or request type it is restricted to:

    name: seed-000
    targets:
      - {kpi: first_response_mean, at_most: 2h, source: "000: 响应时效≤2小时"}
      - {kpi: csat, at_least: 92%}
      - {kpi: first_response_mean, channel: webchat, at_most: 8m}

Rates are written as percentages ("90%") or fractions (0.9); times as durations ("2h", "30m").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.config_files import bundled_file, load_yaml_model
from streams.domain.durations import parse_duration
from streams.models import CHANNELS, REQUEST_TYPES


@dataclass(frozen=True)
class KpiInfo:
    label: str  # as the report names it
    unit: Literal["seconds", "rate", "score", "nps"]
    better: Literal["lower", "higher"]
    filterable: bool = True  # may be restricted to a channel / request type


KPIS: dict[str, KpiInfo] = {
    "first_response_mean": KpiInfo("首次响应时长(平均) first response, mean", "seconds", "lower"),
    "first_response_median": KpiInfo("首次响应时长(中位) first response, median", "seconds", "lower"),
    "first_response_p90": KpiInfo("首次响应时长(P90) first response, p90", "seconds", "lower"),
    "resolution_mean": KpiInfo("解决时长(平均) resolution time, mean", "seconds", "lower"),
    "resolution_rate": KpiInfo("需求解决率 resolution rate", "rate", "higher"),
    "complaint_resolution_rate": KpiInfo("投诉解决率 complaint resolution rate", "rate", "higher", False),
    "first_response_compliance": KpiInfo("首次响应达标率 first response within SLA", "rate", "higher"),
    "resolution_compliance": KpiInfo("解决达标率 resolution within SLA", "rate", "higher"),
    "breach_rate": KpiInfo("超时率 tickets with a breach", "rate", "lower"),
    "escalation_rate": KpiInfo("升级率 escalation rate", "rate", "lower"),
    "complaint_rate": KpiInfo("投诉率 complaint rate", "rate", "lower", False),
    "repeat_inquiry_rate": KpiInfo("重复咨询率 repeat-inquiry rate", "rate", "lower"),
    "repeat_complaint_rate": KpiInfo("重复投诉率 repeat-complaint rate", "rate", "lower", False),
    "reopen_rate": KpiInfo("重开率 reopened tickets", "rate", "lower"),
    "csat": KpiInfo("客户满意度(4-5分占比) CSAT", "rate", "higher"),
    "csat_mean": KpiInfo("满意度评分(1-5) CSAT score", "score", "higher"),
    "csat_by_type_min": KpiInfo("各类型满意度最低值 lowest CSAT of a request type", "rate", "higher", False),
    "nps": KpiInfo("净推荐值 NPS", "nps", "higher"),
    "survey_response_rate": KpiInfo("回访应答率 survey answers per survey due", "rate", "higher"),
    "answer_rate_min": KpiInfo("渠道接通/回复率最低值 lowest channel answer/reply rate", "rate", "higher", False),
    "hotline_answered_10min": KpiInfo("热线10分钟接通率 hotline answered ≤ 10 min", "rate", "higher", False),
    "app_replied_30min": KpiInfo("APP反馈30分钟回复率 app replied ≤ 30 min", "rate", "higher", False),
}

KpiName = Literal[tuple(KPIS)]  # type: ignore[valid-type]


def _number(value: object, unit: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if unit == "seconds":
        return parse_duration(value).seconds  # type: ignore[arg-type]
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            return float(text[:-1]) / 100
        return float(text)
    if isinstance(value, (int, float)):
        if unit == "rate" and value > 1:
            raise ValueError(f"rate {value!r} is above 1: write it as a percentage ('{value}%') or a fraction")
        return float(value)
    raise ValueError(f"{value!r} is not a number")


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kpi: KpiName
    at_least: float | str | None = None
    at_most: float | str | None = None
    above: float | str | None = None
    below: float | str | None = None
    channel: Literal[tuple(CHANNELS)] | None = None  # type: ignore[valid-type]
    type: Literal[tuple(REQUEST_TYPES)] | None = None  # type: ignore[valid-type]
    source: str = ""

    @model_validator(mode="after")
    def _one_bound(self) -> Target:
        bounds = [name for name in ("at_least", "at_most", "above", "below") if getattr(self, name) is not None]
        if len(bounds) != 1:
            raise ValueError(f"give exactly one of at_least, at_most, above, below (got {bounds or 'none'})")
        info = KPIS[self.kpi]
        for name in bounds:
            setattr(self, name, _number(getattr(self, name), info.unit))
        if (self.channel or self.type) and not info.filterable:
            raise ValueError(f"{self.kpi} cannot be restricted to a channel or a request type")
        return self

    @property
    def bound(self) -> tuple[str, float]:
        for name in ("at_least", "at_most", "above", "below"):
            value = getattr(self, name)
            if value is not None:
                return name, float(value)
        raise AssertionError("validated to have one bound")

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        name, bound = self.bound
        return {"at_least": value >= bound, "at_most": value <= bound, "above": value > bound, "below": value < bound}[
            name
        ]

    @property
    def scope(self) -> str:
        return " · ".join(part for part in (self.channel, self.type) if part)


class KpiFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    targets: list[Target] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _unique(cls, targets: list[Target]) -> list[Target]:
        seen = set()
        for target in targets:
            key = (target.kpi, target.channel, target.type)
            if key in seen:
                raise ValueError(f"{target.kpi} ({target.scope or 'all'}) has two targets")
            seen.add(key)
        return targets


DEFAULT_FILE = "kpis.yaml"


def load_kpis(path: str | Path | None = None) -> KpiFile:
    """The KPI file (raises streams.domain.config_files.ConfigFileError saying what is wrong)."""
    return load_yaml_model(path or bundled_file(DEFAULT_FILE), KpiFile)
