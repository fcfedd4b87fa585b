"""The Prometheus alert rules in deploy/prometheus: valid (`promtool check`), unit-tested
(`promtool test rules`, deploy/prometheus/tests/*.yml) so that every alert is seen firing when
it should and silent when it should not, documented (summary and runbook), and reading only
metrics the code exports."""

from __future__ import annotations

import yaml

from tests.deploy.exported import (
    DEPLOY,
    NOT_EXPORTED_YET,
    RULE_FILES,
    RULE_TESTS,
    alerts,
    exported_metrics,
    rule_metrics,
)
from tests.deploy.promtool import run_promtool


def test_there_are_rule_files_and_unit_tests():
    assert RULE_FILES and RULE_TESTS


def test_promtool_check_rules(promtool):
    output = run_promtool(promtool, "check", "rules", *RULE_FILES)
    assert "SUCCESS" in output


def test_promtool_check_config(promtool):
    run_promtool(promtool, "check", "config", DEPLOY / "prometheus" / "prometheus.yml")


def test_promtool_unit_tests_pass(promtool):
    output = run_promtool(promtool, "test", "rules", *RULE_TESTS)
    assert output.count("SUCCESS") == len(RULE_TESTS), output


def test_the_unit_tests_load_the_deployed_rule_files():
    for path in RULE_TESTS:
        loaded = {
            (path.parent / name).resolve() for name in yaml.safe_load(path.read_text(encoding="utf-8"))["rule_files"]
        }
        assert loaded == {rule_file.resolve() for rule_file in RULE_FILES}, path.name


def test_every_alert_is_unit_tested_both_firing_and_silent():
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {alert["alert"] for alert in alerts()}
    assert {"never seen firing": sorted(names - firing), "never seen silent": sorted(names - silent)} == {
        "never seen firing": [],
        "never seen silent": [],
    }
    assert (firing | silent) <= names, f"tests of alerts that do not exist: {sorted((firing | silent) - names)}"


def test_every_alert_has_a_summary_and_a_one_line_runbook():
    for alert in alerts():
        annotations = alert.get("annotations", {})
        assert annotations.get("summary"), alert["alert"]
        runbook = annotations.get("runbook", "")
        assert runbook and "\n" not in runbook.strip(), f"{alert['alert']}: the runbook is one line"
        assert alert.get("labels", {}).get("severity") in ("warning", "critical"), alert["alert"]


def test_alert_names_are_unique():
    names = [alert["alert"] for alert in alerts()]
    assert len(names) == len(set(names))


def test_every_alert_and_recording_rule_reads_metrics_the_code_exports():
    exported = exported_metrics() | set(NOT_EXPORTED_YET)
    unknown = {name: names - exported for name, names in rule_metrics().items() if names - exported}
    assert unknown == {}


def test_the_metrics_awaited_by_the_rules_are_really_not_exported_yet():
    # Once the code exports one, drop it from NOT_EXPORTED_YET (and check its labels against the rules).
    assert set(NOT_EXPORTED_YET) & exported_metrics() == set()
    read = set().union(*rule_metrics().values())
    assert set(NOT_EXPORTED_YET) <= read, "names awaited that no rule reads"


def test_docs_alerting_lists_every_alert_with_its_runbook_line():
    text = (DEPLOY.parent / "docs" / "alerting.md").read_text(encoding="utf-8")
    for alert in alerts():
        assert f"**`{alert['alert']}`**" in text and f"| `{alert['alert']}` |" in text, alert["alert"]
        assert f"*Runbook:* {alert['annotations']['runbook']}" in text, alert["alert"]
