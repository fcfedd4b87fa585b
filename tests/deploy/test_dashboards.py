"""The Grafana dashboards in deploy/grafana: they query only metrics the code exports and
recording rules that exist, their queries are valid PromQL, their panels sit in rows, and they
conform to Grafana's dashboard schema as Grafana's own foundation SDK types it (the 11.3 build,
the Grafana of docker-compose.yml)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog import runtime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import prometheus
from grafana_foundation_sdk.models.dashboard import Dashboard, RowPanel

from tests.deploy.exported import (
    DASHBOARDS,
    DEPLOY,
    dashboard_metrics,
    dashboard_panels,
    dashboard_record_names,
    exported_metrics,
    rules,
)
from tests.deploy.promtool import run_promtool

register_default_plugins()
PROVISIONED = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())


def test_there_are_dashboards():
    assert DASHBOARDS


def test_every_dashboard_panel_queries_metrics_the_code_exports():
    exported = exported_metrics()
    unknown = {title: names - exported for title, names in dashboard_metrics().items() if names - exported}
    assert unknown == {}


def test_every_recording_rule_a_dashboard_queries_exists():
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    assert dashboard_record_names() - recorded == set()


def test_the_dashboard_shows_replies_promoted_to_requests():
    assert any("ticketflow_orphan_replies_promoted" in names for names in dashboard_metrics().values())


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    # promtool parses each expression as a recording rule's.
    exprs = [
        target["expr"] for path in DASHBOARDS for panel in dashboard_panels(path) for target in panel.get("targets", [])
    ]
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboards",
                        "rules": [
                            {"record": f"dashboard:query_{number}", "expr": expr} for number, expr in enumerate(exprs)
                        ],
                    }
                ]
            }
        )
    )
    run_promtool(promtool, "check", "rules", rule_file)


def dropped_fields(original: Any, round_tripped: Any, path: str = "") -> list[str]:
    """Where a field of the original JSON did not survive decoding into the schema types."""
    if isinstance(original, dict):
        if not isinstance(round_tripped, dict):
            return [path]
        return [
            found
            for key, value in original.items()
            for found in (
                [f"{path}.{key}"]
                if key not in round_tripped
                else dropped_fields(value, round_tripped[key], f"{path}.{key}")
            )
        ]
    if isinstance(original, list):
        if not isinstance(round_tripped, list) or len(original) != len(round_tripped):
            return [path]
        return [
            found
            for number, (a, b) in enumerate(zip(original, round_tripped))
            for found in dropped_fields(a, b, f"{path}[{number}]")
        ]
    return []


def schema_problems(document: dict) -> list[str]:
    dashboard = Dashboard.from_json(document)
    problems = [
        f"not in Grafana's schema: {field}"
        for field in dropped_fields(document, json.loads(json.dumps(dashboard, cls=JSONEncoder)))
    ]
    uids = {source["uid"] for source in PROVISIONED["datasources"]}
    for panel in dashboard.panels or []:
        if isinstance(panel, RowPanel):
            continue
        if runtime.panelcfg_config(panel.type_val) is None:
            problems.append(f"{panel.title}: unknown panel type {panel.type_val!r}")
        if panel.datasource is None or panel.datasource.uid not in uids:
            problems.append(f"{panel.title}: not on a provisioned data source")
        for target in panel.targets or []:
            if not isinstance(target, prometheus.Dataquery):
                problems.append(f"{panel.title}: a query that is not a Prometheus query")
    return problems


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_the_dashboard_conforms_to_grafanas_schema(path: Path):
    assert schema_problems(json.loads(path.read_text(encoding="utf-8"))) == []


def test_the_schema_check_finds_misspelt_fields_and_unknown_panel_types():
    document = json.loads(DASHBOARDS[0].read_text(encoding="utf-8"))
    panel = next(number for number, panel in enumerate(document["panels"]) if panel["type"] == "timeseries")
    broken = copy.deepcopy(document)
    broken["panels"][panel]["gridpos"] = broken["panels"][panel].pop("gridPos")
    broken["panels"][panel]["fieldConfig"]["defaults"]["custom"] = {"thresholdStyle": {"mode": "line"}}
    broken["panels"][panel + 1]["type"] = "timeserie"
    problems = schema_problems(broken)
    assert f"not in Grafana's schema: .panels[{panel}].gridpos" in problems
    assert f"not in Grafana's schema: .panels[{panel}].fieldConfig.defaults.custom.thresholdStyle" in problems
    assert any("unknown panel type 'timeserie'" in problem for problem in problems), problems


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_panels_sit_in_rows_without_overlapping(path: Path):
    panels = json.loads(path.read_text(encoding="utf-8"))["panels"]
    assert panels[0]["type"] == "row"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        covered = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
