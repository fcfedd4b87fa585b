"""The operator files in deploy/ refer only to metrics the code exports."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
METRIC = re.compile(r"\bticketflow_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_total")


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def exported_metrics() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "streams").rglob("*.py"):
        names.update(_base(name) for name in METRIC.findall(source.read_text(encoding="utf-8")))
    return names


def dashboard_metrics() -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                found.setdefault(panel["title"], set()).update(map(_base, METRIC.findall(target.get("expr", ""))))
    return found


def rule_metrics() -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                found[name] = set(map(_base, METRIC.findall(str(rule["expr"]))))
    return found


def test_every_dashboard_panel_queries_metrics_the_code_exports():
    exported = exported_metrics()
    unknown = {title: names - exported for title, names in dashboard_metrics().items() if names - exported}
    assert unknown == {}


def test_every_alert_and_recording_rule_reads_metrics_the_code_exports():
    exported = exported_metrics()
    unknown = {name: names - exported for name, names in rule_metrics().items() if names - exported}
    assert unknown == {}


def test_the_dashboard_shows_replies_promoted_to_requests():
    assert any("ticketflow_orphan_replies_promoted" in names for names in dashboard_metrics().values())
