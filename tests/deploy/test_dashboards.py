"""The Grafana dashboards in deploy/grafana query only metrics the code exports and recording
rules that exist."""

from __future__ import annotations

from tests.deploy.exported import dashboard_metrics, dashboard_record_names, exported_metrics, rules


def test_every_dashboard_panel_queries_metrics_the_code_exports():
    exported = exported_metrics()
    unknown = {title: names - exported for title, names in dashboard_metrics().items() if names - exported}
    assert unknown == {}


def test_every_recording_rule_a_dashboard_queries_exists():
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    assert dashboard_record_names() - recorded == set()


def test_the_dashboard_shows_replies_promoted_to_requests():
    assert any("ticketflow_orphan_replies_promoted" in names for names in dashboard_metrics().values())
