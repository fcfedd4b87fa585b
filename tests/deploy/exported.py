"""The metric names the code exports, and those the operator files in deploy/ read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULE_FILES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

METRIC = re.compile(r"\bticketflow_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_total")

# Metrics the rules read that the code does not export yet, with what exports them. The rules
# are written against these names so the alert works as soon as the metric exists.
NOT_EXPORTED_YET: dict[str, str] = {}


def base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def exported_metrics() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "streams").rglob("*.py"):
        names.update(base(name) for name in METRIC.findall(source.read_text(encoding="utf-8")))
    return names


def rules() -> Iterator[dict]:
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            yield from group["rules"]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def rule_metrics() -> dict[str, set[str]]:
    return {rule.get("alert") or rule["record"]: set(map(base, METRIC.findall(str(rule["expr"])))) for rule in rules()}


def dashboard_panels(path: Path) -> list[dict]:
    """Every panel of a dashboard, those inside collapsed rows included."""
    found = []
    for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_metrics() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in DASHBOARDS:
        for panel in dashboard_panels(path):
            for target in panel.get("targets", []):
                found.setdefault(panel["title"], set()).update(map(base, METRIC.findall(target.get("expr", ""))))
    return found


def dashboard_record_names() -> set[str]:
    """Recording rules (ticketflow:…) the dashboards query."""
    names: set[str] = set()
    for path in DASHBOARDS:
        for panel in dashboard_panels(path):
            for target in panel.get("targets", []):
                names.update(re.findall(r"\bticketflow:[a-z0-9_:]+", target.get("expr", "")))
    return names
