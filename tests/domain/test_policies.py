import pytest

from streams.domain.calendars import ALWAYS_OPEN
from streams.domain.config_files import ConfigFileError, bundled_file, load_yaml_model
from streams.domain.policies import PolicyFile


def load(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml_model(path, PolicyFile)


def test_first_matching_policy_wins(policies):
    assert policies.select({"type": "complaint", "complaint_grade": 1, "urgency": "urgent"}).name == "complaint-grade-1"
    assert policies.select({"type": "complaint", "complaint_grade": 3}).name == "complaint-grade-3"


def test_seed_targets_are_encoded(policies):
    grade_one = policies.by_name("complaint-grade-1")
    assert policies.target(grade_one, "first_response") == 3600
    assert policies.target(grade_one, "progress_update") == 24 * 3600
    assert policies.target(grade_one, "resolution") == 24 * 3600
    assert policies.target(policies.by_name("app-feedback"), "first_response") == 30 * 60


def test_working_day_target_is_resolved_with_the_calendar_day_length():
    toolkit = load_yaml_model(bundled_file("policies-seed004.yaml"), PolicyFile)
    mid_low = toolkit.by_name("toolkit-mid-low")
    assert toolkit.target(mid_low, "resolution") == 3 * 7.5 * 3600
    assert toolkit.calendar(mid_low).name == "cn-office"


def test_policy_without_calendar_runs_around_the_clock(policies):
    assert policies.calendar(policies.by_name("urgent")) is ALWAYS_OPEN


def test_grade_one_escalates_to_the_task_force_and_others_follow_the_default_ladder(policies):
    assert policies.notify("complaint-grade-1", "resolution", 3) == (
        "complaint_taskforce",
        "business_owner",
        "management",
    )
    assert [step.level for step in policies.ladder(policies.by_name("routine"), "first_response")] == [1, 2, 3]
    assert policies.notify("routine", "first_response", 2) == ("supervisor",)


def test_catch_all_applies_to_anything_else(policies):
    assert policies.select({"type": "inquiry", "urgency": "normal", "channel": "phone"}).name == "routine"


def test_policy_without_catch_all_is_refused(tmp_path):
    with pytest.raises(ConfigFileError, match="must match every ticket"):
        load(tmp_path, "policies:\n  - name: only\n    match: {urgency: urgent}\n    targets: {resolution: 1h}\n")


def test_every_policy_needs_a_resolution_target(tmp_path):
    with pytest.raises(ConfigFileError, match="policies.0.targets.resolution"):
        load(tmp_path, "policies:\n  - name: all\n    targets: {first_response: 1h}\n")


def test_working_days_without_a_calendar_are_refused(tmp_path):
    with pytest.raises(ConfigFileError, match="need a calendar"):
        load(tmp_path, "policies:\n  - name: all\n    targets: {resolution: 3 working days}\n")


def test_unknown_calendar_is_refused(tmp_path):
    with pytest.raises(ConfigFileError, match="calendar 'office'"):
        load(tmp_path, "policies:\n  - name: all\n    calendar: office\n    targets: {resolution: 1h}\n")


def test_bad_duration_names_the_policy_path(tmp_path):
    with pytest.raises(ConfigFileError) as error:
        load(tmp_path, "policies:\n  - name: all\n    targets: {resolution: soonish}\n")
    assert "policies.0.targets.resolution" in str(error.value) and "soonish" in str(error.value)


def test_warning_points_must_be_fractions(tmp_path):
    with pytest.raises(ConfigFileError, match="fraction"):
        load(tmp_path, "warn_at: [75]\npolicies:\n  - name: all\n    targets: {resolution: 1h}\n")


def test_escalation_levels_must_increase(tmp_path):
    with pytest.raises(ConfigFileError, match="increasing order"):
        load(
            tmp_path,
            "escalation: [{level: 2, after_breach: 0m, notify: [a]}, {level: 1, after_breach: 1h, notify: [b]}]\n"
            "policies:\n  - name: all\n    targets: {resolution: 1h}\n",
        )


def test_invalid_yaml_reports_the_line(tmp_path):
    with pytest.raises(ConfigFileError, match="line"):
        load(tmp_path, "policies:\n  - name: [unclosed\n")


@pytest.mark.parametrize("name", ["policies.yaml", "policies-seed004.yaml", "policies-demo.yaml"])
def test_shipped_policy_files_are_valid(name):
    assert load_yaml_model(bundled_file(name), PolicyFile).policies
